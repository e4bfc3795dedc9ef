package dev.tollgate.ledger;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.Immutable;

import java.time.Instant;
import java.util.UUID;

/** A stored usage record (read side; written with the settlement by LedgerStore). */
@Entity
@Immutable
@Table(name = "usage_records")
public class UsageRecord extends PanacheEntityBase {

    @Id
    public long id;

    @Column(name = "request_id")
    public String requestId;

    @Column(name = "account_id")
    public UUID accountId;

    @Column(name = "key_id")
    public UUID keyId;

    public String model;

    @Column(name = "input_tokens")
    public long inputTokens;

    @Column(name = "output_tokens")
    public long outputTokens;

    @Column(name = "cache_creation_5m_input_tokens")
    public long cacheCreation5mInputTokens;

    @Column(name = "cache_creation_1h_input_tokens")
    public long cacheCreation1hInputTokens;

    @Column(name = "cache_read_input_tokens")
    public long cacheReadInputTokens;

    @Column(name = "web_search_requests")
    public long webSearchRequests;

    public long cost;

    public String status;

    @Column(name = "http_status")
    public int httpStatus;

    public boolean stream;

    public String endpoint;

    @Column(name = "latency_ms")
    public int latencyMs;

    @Column(name = "upstream_request_id")
    public String upstreamRequestId;

    public String referer;

    public String title;

    @Column(name = "upstream_id")
    public UUID upstreamId;

    @Column(name = "upstream_name")
    public String upstreamName;

    /** Upstreams tried for the call; null on records that name no upstream. */
    public Integer attempts;

    @Column(name = "created_at")
    public Instant createdAt;

    /** The call at list price, what the upstream billed the operator; null on records from before plans (= cost). */
    @Column(name = "upstream_cost")
    public Long upstreamCost;

    /** The plan the call was charged under; null: the default plan. */
    @Column(name = "plan_id")
    public UUID planId;

    public long upstreamCostOrCost() {
        return upstreamCost != null ? upstreamCost : cost;
    }
}
