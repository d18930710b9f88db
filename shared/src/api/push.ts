/** What the providers push to the webhooks: a Pub/Sub push for Gmail, change and lifecycle notifications for Graph. */
import { z } from 'zod';

/** https://cloud.google.com/pubsub/docs/push: `message.data` is base64 of `{"emailAddress","historyId"}` for Gmail. */
export const PubSubPush = z.looseObject({
  message: z.looseObject({ data: z.string().max(8192), messageId: z.string().optional(), publishTime: z.string().optional() }),
  subscription: z.string().optional(),
});

/** https://learn.microsoft.com/graph/change-notifications-delivery-webhooks: each item names its subscription. */
export const GraphNotifications = z.looseObject({
  value: z.array(
    z.looseObject({
      subscriptionId: z.string().max(200),
      clientState: z.string().max(256).optional(),
      lifecycleEvent: z.string().max(64).optional(),
      changeType: z.string().optional(),
      resourceData: z.looseObject({ id: z.string().min(1).max(512).optional() }).optional(),
    }),
  ),
});
