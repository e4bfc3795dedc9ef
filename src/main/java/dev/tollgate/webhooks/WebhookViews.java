package dev.tollgate.webhooks;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** The JSON shapes of the webhooks API (snake_case on the wire). */
@RegisterForReflection(targets = {WebhookViews.Webhook.class, WebhookViews.Created.class, WebhookViews.Delivery.class,
        WebhookViews.Attempt.class, WebhookViews.TestEvent.class, WebhookViews.Page.class, WebhookViews.Pass.class})
public final class WebhookViews {

    private WebhookViews() {
    }

    record Webhook(UUID id, String url, List<String> events, Instant createdAt) {
    }

    /** A created webhook: the only response that carries its secret. */
    record Created(UUID id, String url, List<String> events, String secret, Instant createdAt) {
    }

    /** One event for one webhook and every attempt to deliver it, oldest first. */
    record Delivery(long id, String eventId, String eventType, String state, Instant createdAt, Instant nextAttemptAt,
                    List<Attempt> attempts) {
    }

    /** {@code httpStatus} is null when no response came (the error says why). */
    record Attempt(Instant attemptedAt, Integer httpStatus, String error, int durationMs) {
    }

    /** A test event queued for one webhook. */
    record TestEvent(UUID webhookId, String eventId, String type) {
    }

    record Page<T>(List<T> data) {
    }

    /** What one maintenance pass did. */
    public record Pass(int lowBalanceEvents, int depletedEvents, int deliveryAttempts) {
    }
}
