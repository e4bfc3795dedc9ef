-- A batch's hold counts in its key's and account's spend caps while the batch runs, but takes no
-- concurrency slot (a batch runs for up to 24 hours); the hold says which it is, so that its
-- settlement, its expiry and a re-seeding of the counters release exactly what it took.
ALTER TABLE holds ADD COLUMN takes_slot boolean NOT NULL DEFAULT true;

-- Containers (code execution, skills) the upstream created for an account's calls: only that
-- account may name one in a later request.
CREATE TABLE containers (
    id              text        PRIMARY KEY,             -- the upstream's container id
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    upstream_id     uuid        NOT NULL,                -- where it lives: calls naming it go there only
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Files the upstream's code execution or skills wrote during an account's call: the account's own
-- like its uploads (metadata, content, delete), but not uploaded by it, so outside its quotas.
ALTER TABLE files ADD COLUMN generated boolean NOT NULL DEFAULT false;
