/**
 * Ids routes take from the path and the body: the API's own id schema (@threadline/shared, a 400 naming what the id
 * should have been when it is not 24 hex digits), parsed into the ObjectId the stores are asked with.
 */
import { Types } from 'mongoose';
import { objectId as objectIdText } from '@threadline/shared/src/api/common';

/** A path or body id of `what` ("message", "deal"…), parsed into an ObjectId. */
export const objectId = (what: string) => objectIdText(what).transform((s) => new Types.ObjectId(s));
