/**
 * Admins manage the organisation's users: PATCH /api/users/:id `{"disabled": true|false}`. Disabling ends the user's
 * sessions at once (http/context.ts) and refuses their sign-ins until an admin enables them again.
 */
import { Router } from 'express';
import { UserPatch } from '@threadline/shared/src/api/account';
import { AuditLog } from '../models/audit';
import { User, type UserDoc } from '../models/user';
import { requireAdmin } from './context';
import { badRequest, notFound } from './errors';
import { isObjectId } from '../auth/sign-in';

const patch = UserPatch;

export function userRoutes(): Router {
  const router = Router();
  router.patch('/api/users/:id', async (req, res) => {
    const a = requireAdmin(req);
    const id = req.params.id;
    if (!isObjectId(id)) throw notFound('user');
    const { disabled } = patch.parse(req.body);
    if (disabled && a.userId.equals(id)) throw badRequest('you cannot disable your own account; ask another admin');
    const user = await User.findOneAndUpdate(
      { _id: id },
      { $set: { disabled, ...(disabled ? { sessionsNotBefore: new Date() } : {}) } },
      { new: true },
    ).lean<UserDoc>();
    if (!user) throw notFound('user');
    await AuditLog.create({ actorId: a.userId, action: disabled ? 'user.disabled' : 'user.enabled', target: String(user._id), detail: {} });
    res.json({ id: String(user._id), email: user.email, name: user.name, role: user.role, disabled: Boolean(user.disabled) });
  });
  return router;
}
