-- Upstream kinds beyond Anthropic's API: Claude on Amazon Bedrock and on Google Vertex AI.
-- settings: what each kind needs that is no secret (region, project, inference profile, token URL,
-- model map), shown by the admin API. The secrets (AWS keys, a Bedrock API key, a service
-- account's key file) go in credential, sealed like every other.
ALTER TABLE upstreams
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Applied to the list-price cost of the calls it serves (what the operator pays for them, e.g.
    -- 1.10 for a regional cloud endpoint); never to what a customer is charged.
    ADD COLUMN price_multiplier numeric(12, 6) NOT NULL DEFAULT 1 CHECK (price_multiplier > 0),
    ADD CONSTRAINT upstreams_kind CHECK (kind IN ('anthropic', 'bedrock', 'vertex'));
