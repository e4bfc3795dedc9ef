package dev.tollgate.ledger;

import io.quarkus.logging.Log;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * This instance's reserves: for a busy account without limits, part of its balance held as one
 * database hold (tg_reserve), from which calls are admitted in memory, so a call costs no database
 * round trip before it goes upstream. Every call still leaves its usage record and ledger entry,
 * written by the settlement batch, which draws the call's cost (at most its own worst case) from the
 * reserve.
 *
 * <p>Why it cannot overspend: a call is admitted only while the reserve's remaining amount, minus
 * the worst cases of the calls in flight on it, covers its own worst case; the local amount only
 * ever falls behind the database's (draws are subtracted here when queued, there when committed),
 * so the database's hold always covers what this instance may still spend from it.
 *
 * <p>A reserve is trusted for {@code validity} (the key cache's TTL) and then renewed, which
 * re-checks the account in the database (limits set since, reserve reaped meanwhile) and tops it
 * up. One that is idle, with nothing in flight and nothing left to settle, is returned.
 *
 * <p>Size: {@code callsPerReserve} worst cases, doubled (up to {@link #MAX_GROWTH} times) whenever
 * the reserve runs low within {@code turnover} of its last refill, and halved when it lasts ten
 * times that. A busy account's reserve so holds about a second of its calls or more, and a renewal
 * that waits on a slow database (a checkpoint's fsync on a busy disk) ends before the reserve runs
 * dry instead of the account's calls waiting for it. tg_reserve still grants a top-up only while
 * the account has eight times it available.
 */
final class Reserves {

    /**
     * Opens, renews or tops up a reserve: the amount added (0: only renewed), {@link #GONE} when the
     * reserve was already returned or reaped, or null when the account is to have none.
     */
    interface Store {
        long GONE = -1;

        Long reserve(UUID reserveId, UUID accountId, long want);

        void giveBack(UUID reserveId);
    }

    /** The most a reserve grows: 64 times callsPerReserve worst cases. */
    static final int MAX_GROWTH = 64;

    private final Store store;
    private final int callsPerReserve;
    private final long validityNanos;
    private final long turnoverNanos;
    private final Map<UUID, Reserve> byAccount = new ConcurrentHashMap<>();

    Reserves(Store store, int callsPerReserve, Duration validity) {
        this(store, callsPerReserve, validity, Duration.ofSeconds(1));
    }

    Reserves(Store store, int callsPerReserve, Duration validity, Duration turnover) {
        this.store = store;
        this.callsPerReserve = callsPerReserve;
        this.validityNanos = validity.toNanos();
        this.turnoverNanos = turnover.toNanos();
    }

    boolean enabled() {
        return callsPerReserve > 0;
    }

    /** A hold on the account's reserve for a call whose worst case is {@code amount}; null: hold it in the database. */
    Hold admit(UUID accountId, long amount) {
        Reserve reserve = byAccount.computeIfAbsent(accountId, Reserve::new);
        reserve.lock.lock();
        try {
            if (reserve.dropped) {
                return admit(accountId, amount); // returnIdle dropped it meanwhile: use the account's new entry
            }
            long now = System.nanoTime();
            if (reserve.refusedUntil - now > 0) {
                return null;
            }
            Hold fromMemory = takeIfValid(reserve, amount, now);
            if (fromMemory != null) {
                return fromMemory;
            }
            // Renew (a reserve is re-checked every validity period) and top up, before this call.
            if (reserve.open) {
                long want = runningLow(reserve, amount) ? refill(reserve, amount, now) : 0;
                if (renewed(reserve, want, store.reserve(reserve.id, accountId, want), now)) {
                    return reserve.free() >= amount ? reserve.take(amount) : null;
                }
                if (!reserve.draining) {
                    Log.infof("Reserve %s of account %s is gone; opening a new one", reserve.id, accountId);
                }
            }
            if (reserve.draining) {
                return null;
            }
            reserve.restart();
            Long added = store.reserve(reserve.id, accountId, full(reserve, amount));
            if (added == null || added <= 0) {
                // Limits, or too little balance for a reserve: the database admits each call, for a while.
                reserve.refusedUntil = now + validityNanos;
                return null;
            }
            reserve.open = true;
            reserve.amount = added;
            reserve.validUntil = now + validityNanos;
            reserve.filledAt = now;
            return reserve.amount >= amount ? reserve.take(amount) : null;
        } finally {
            reserve.lock.unlock();
        }
    }

    /**
     * As {@link #admit}, but only from an open, valid reserve and without ever waiting (not for the
     * database, nor for a lock held by a renewal): null when the call must go through admit.
     */
    Hold admitInMemory(UUID accountId, long amount) {
        Reserve reserve = byAccount.get(accountId);
        if (reserve == null || !reserve.lock.tryLock()) {
            return null;
        }
        try {
            return reserve.dropped ? null : takeIfValid(reserve, amount, System.nanoTime());
        } finally {
            reserve.lock.unlock();
        }
    }

    /** Under the reserve's lock: the call's hold if the reserve is open, valid and covers it, else null. */
    private Hold takeIfValid(Reserve reserve, long amount, long now) {
        if (!reserve.open || now - reserve.validUntil >= 0 || reserve.free() < amount) {
            return null;
        }
        boolean low = runningLow(reserve, amount);
        Hold hold = reserve.take(amount);
        // Renew and top up ahead of need, off the call's path: running low, or in the last
        // fifth of its validity. Calls go on being admitted from what is left meanwhile.
        if (!reserve.refreshing && (low || reserve.validUntil - now < validityNanos / 5)) {
            reserve.refreshing = true;
            long want = low ? refill(reserve, amount, now) : 0;
            UUID id = reserve.id;
            UUID accountId = reserve.accountId;
            Thread.startVirtualThread(() -> refresh(reserve, id, accountId, want));
        }
        return hold;
    }

    /** A full reserve for calls whose worst case is {@code amount}, at the reserve's current growth. */
    private long full(Reserve reserve, long amount) {
        return (long) callsPerReserve * amount * reserve.growth;
    }

    /** Whether the next renewal is to top the reserve up: less than half of a full one is free. */
    private boolean runningLow(Reserve reserve, long amount) {
        return reserve.free() < full(reserve, amount) / 2;
    }

    /** The top-up to ask for now, after adapting the reserve's growth to how fast it was used (see the class comment). */
    private long refill(Reserve reserve, long amount, long now) {
        long sinceFilled = now - reserve.filledAt;
        if (sinceFilled < turnoverNanos && reserve.growth < MAX_GROWTH) {
            reserve.growth *= 2;
        } else if (sinceFilled >= 10 * turnoverNanos && reserve.growth > 1) {
            reserve.growth /= 2;
        }
        return full(reserve, amount);
    }

    /** A renewal and top-up in the background (see admit); its outcome applies as a synchronous one would. */
    private void refresh(Reserve reserve, UUID id, UUID accountId, long want) {
        Long added = null;
        RuntimeException failure = null;
        try {
            added = store.reserve(id, accountId, want);
        } catch (RuntimeException e) {
            failure = e;
        }
        reserve.lock.lock();
        try {
            reserve.refreshing = false;
            if (failure != null || !reserve.open || !reserve.id.equals(id)) {
                if (failure != null) {
                    Log.warnf("Renewing reserve %s failed (%s); the next call renews it", id, failure.toString());
                }
                return;
            }
            renewed(reserve, want, added, System.nanoTime());
        } finally {
            reserve.lock.unlock();
        }
    }

    /**
     * Applies tg_reserve's answer to a renewal, under the reserve's lock; false when the reserve
     * admits no more calls: the account got limits (NULL: it drains, and is returned once its calls
     * in flight are settled, while the account's calls are held one by one), or it was reaped or
     * returned meanwhile ({@link Store#GONE}: its calls in flight settle late, a new one may open).
     */
    private boolean renewed(Reserve reserve, long want, Long added, long now) {
        if (added != null && added >= 0) {
            reserve.amount += added;
            reserve.validUntil = now + validityNanos;
            if (added > 0) {
                reserve.filledAt = now;
            } else if (want > 0) {
                reserve.growth = 1; // the account cannot spare this much: ask for the base size again
            }
            return true;
        }
        reserve.open = false;
        if (added == null) {
            reserve.draining = true;
            reserve.refusedUntil = now + validityNanos;
        }
        return false;
    }

    /**
     * The database revoked the account's reserve (a debit left its balance short of what it holds):
     * admit no more calls from it. Its calls in flight settle without it (late, charged in full).
     */
    void revoke(UUID accountId) {
        Reserve reserve = byAccount.get(accountId);
        if (reserve == null) {
            return;
        }
        reserve.lock.lock();
        try {
            if (reserve.open) {
                Log.infof("Reserve %s of account %s revoked: the account's balance no longer covers it", reserve.id,
                        accountId);
            }
            reserve.open = false;
        } finally {
            reserve.lock.unlock();
        }
    }

    /** The call is over and its settlement queued, drawing {@code draw} (at most the call's hold). */
    void settling(Hold hold, long draw) {
        onReserveOf(hold, reserve -> {
            reserve.inflight -= hold.amountNanos();
            reserve.amount -= draw;
            reserve.unsettled++;
        });
    }

    /** The settlement of a call admitted from a reserve is written (or failed for good). */
    void settled(Hold hold) {
        onReserveOf(hold, reserve -> {
            reserve.unsettled--;
            reserve.lastUsed = System.nanoTime();
        });
    }

    /** Updates the hold's reserve under its lock, unless the account has moved on to another reserve. */
    private void onReserveOf(Hold hold, java.util.function.Consumer<Reserve> update) {
        Reserve reserve = byAccount.get(hold.accountId());
        if (reserve == null) {
            return;
        }
        reserve.lock.lock();
        try {
            if (reserve.id.equals(hold.id())) {
                update.accept(reserve);
            }
        } finally {
            reserve.lock.unlock();
        }
    }

    /** Returns the reserves that nothing uses (idle longer than {@code idle}, or all when 0). */
    void returnIdle(Duration idle) {
        long now = System.nanoTime();
        for (Reserve reserve : byAccount.values()) {
            UUID toReturn = null;
            reserve.lock.lock();
            try {
                boolean quiet = reserve.inflight == 0 && reserve.unsettled == 0;
                if (quiet && (reserve.draining || reserve.open && now - reserve.lastUsed >= idle.toNanos())) {
                    reserve.open = false;
                    reserve.draining = false;
                    toReturn = reserve.id;
                }
                if (!reserve.open && !reserve.draining && quiet && reserve.refusedUntil - now <= 0) {
                    reserve.dropped = true;
                    byAccount.remove(reserve.accountId, reserve);
                }
            } finally {
                reserve.lock.unlock();
            }
            if (toReturn != null) {
                try {
                    store.giveBack(toReturn);
                } catch (RuntimeException e) {
                    Log.warnf("Returning reserve %s failed (%s); the reaper will return it", toReturn, e.toString());
                }
            }
        }
    }

    private static final class Reserve {
        final UUID accountId;
        final ReentrantLock lock = new ReentrantLock();
        UUID id = HoldIds.next();
        boolean open;
        /** A background renewal is running. */
        boolean refreshing;
        /** No longer admitting (limits, or reaped); returned once its calls in flight are settled. */
        boolean draining;
        boolean dropped;
        long amount;
        long inflight;
        int unsettled;
        long validUntil;
        /** When the reserve was last opened or topped up. */
        long filledAt;
        /** The multiple of callsPerReserve worst cases a full reserve is (see the class comment). */
        int growth = 1;
        long refusedUntil = System.nanoTime();
        long lastUsed = System.nanoTime();

        Reserve(UUID accountId) {
            this.accountId = accountId;
        }

        /** A fresh reserve; the old one's calls in flight keep its id and settle against it. */
        void restart() {
            id = HoldIds.next();
            amount = 0;
            inflight = 0;
            unsettled = 0;
        }

        /** What calls may still be admitted against: the amount less the worst cases in flight. */
        long free() {
            return amount - inflight;
        }

        Hold take(long amount) {
            inflight += amount;
            lastUsed = System.nanoTime();
            return new Hold(id, accountId, amount, true);
        }
    }
}
