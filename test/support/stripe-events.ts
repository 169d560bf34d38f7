// Stripe webhook events as Stripe would send them, for tests that post them to /api/webhooks/stripe:
// the event envelope, a succeeded PaymentIntent of an OnAir top-up and a (cumulatively) refunded
// charge. Only shapes: signing is the stripe package's test header helper, delivery is the test's.
import { randomBytes } from 'node:crypto';

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  type: string;
  data: { object: object };
}

/** An event envelope with a fresh id (`evt_…`). */
export const stripeEvent = (type: string, object: object): StripeEvent => ({
  id: `evt_${randomBytes(8).toString('hex')}`,
  object: 'event',
  api_version: '2025-01-27',
  created: Math.floor(Date.now() / 1000),
  type,
  data: { object },
});

/** payment_intent.succeeded for a top-up of `amount` cents by `userId` (the metadata OnAir set). */
export const paymentSucceeded = (paymentIntentId: string, userId: string, amount: number) =>
  stripeEvent('payment_intent.succeeded', {
    id: paymentIntentId,
    object: 'payment_intent',
    amount,
    amount_received: amount,
    currency: 'usd',
    status: 'succeeded',
    metadata: { onair_user_id: userId },
  });

/** The charge of a PaymentIntent with `refunded` cents refunded so far (Stripe's amounts are cumulative). */
export const refundedCharge = (paymentIntentId: string, amount: number, refunded: number) => ({
  id: `ch_${paymentIntentId}`,
  object: 'charge',
  amount,
  amount_refunded: refunded,
  currency: 'usd',
  payment_intent: paymentIntentId,
});
