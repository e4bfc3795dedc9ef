package dev.tollgate.admin;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

/**
 * Every admin amount is a decimal of ASCII digits, read exactly: other scripts' digits, exponents,
 * signs and stray spaces are refused with a 400 naming the field, and nothing is written.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class AdminAmountsTest {

    /** Each of these BigDecimal alone would read as a number (the first four as 12). */
    private static final List<String> NOT_ASCII_DECIMALS = List.of("١٢", "１２", "۱۲", "१२", "+12", "1e1", "1E1",
            " 12", "12 ", "12.", ".5", "1_2", "0x12", "１２.٥", "12.0\n");

    @Test
    void creditsInOtherDigitsOrNotationsAreRefusedAndWriteNothing() {
        String account = Tollgate.createAccount("digits");
        for (String kind : List.of("topups", "adjustments")) {
            for (String amount : NOT_ASCII_DECIMALS) {
                admin().body(Map.of("amount_usd", amount)).post("/admin/v1/accounts/" + account + "/" + kind)
                        .then().statusCode(400).body("error.type", equalTo("invalid_request_error"))
                        .body("error.message", startsWith("amount_usd: "));
            }
        }
        admin().body(Map.of("amount_usd", "-5")).post("/admin/v1/accounts/" + account + "/topups")
                .then().statusCode(400).body("error.message", startsWith("amount_usd: "));
        admin().get("/admin/v1/accounts/" + account).then().body("balance_usd", equalTo("0.000000000"));
        admin().get("/admin/v1/accounts/" + account + "/ledger").then().body("data.size()", equalTo(0));
    }

    @Test
    void limitsAndThresholdsInOtherDigitsAreRefused() {
        String account = Tollgate.createAccount("limits");
        Tollgate.createKey(account);
        String keyId = Tollgate.newestKeyId(account).toString();
        for (String field : List.of("daily_spend_limit_usd", "monthly_spend_limit_usd", "lifetime_spend_limit_usd",
                "low_balance_threshold_usd")) {
            for (Object amount : concat(NOT_ASCII_DECIMALS, "-5", -5, "0")) {
                admin().body(Map.of(field, amount)).patch("/admin/v1/accounts/" + account)
                        .then().statusCode(400).body("error.message", startsWith(field + ": "));
                admin().body(Map.of("name", "x", field, amount)).post("/admin/v1/accounts")
                        .then().statusCode(400).body("error.message", startsWith(field + ": "));
                if (!field.startsWith("low_balance")) {
                    admin().body(Map.of(field, amount)).patch("/admin/v1/keys/" + keyId)
                            .then().statusCode(400).body("error.message", startsWith(field + ": "));
                }
            }
        }
        admin().get("/admin/v1/accounts/" + account).then().body("limits.daily_spend_limit_usd", nullValue())
                .body("low_balance_threshold_usd", nullValue());
        admin().get("/admin/v1/accounts/" + account + "/keys").then().body("data[0].limits.daily_spend_limit_usd", nullValue());
    }

    @Test
    void jsonNumbersAreReadExactlyAndHugeExponentsRefusedAtOnce() {
        String account = Tollgate.createAccount("numbers");
        // 17 significant digits: a double would make this 99999999.12345679.
        admin().body("{\"amount_usd\": 99999999.123456789}").post("/admin/v1/accounts/" + account + "/topups")
                .then().statusCode(201).body("balance_usd", equalTo("99999999.123456789"));
        admin().body("{\"amount_usd\": -0.000000001}").post("/admin/v1/accounts/" + account + "/adjustments")
                .then().statusCode(201).body("balance_usd", equalTo("99999999.123456788"));
        admin().body("{\"monthly_spend_limit_usd\": 0.1}").patch("/admin/v1/accounts/" + account)
                .then().statusCode(200).body("limits.monthly_spend_limit_usd", equalTo("0.100000000"));
        for (String number : List.of("1e999999999", "1e-999999999", "12.5e400")) {
            admin().body("{\"amount_usd\": " + number + "}").post("/admin/v1/accounts/" + account + "/topups")
                    .then().statusCode(400).body("error.message", startsWith("amount_usd: "));
        }
        admin().body(Map.of("amount_usd", "1.0000000001")).post("/admin/v1/accounts/" + account + "/topups")
                .then().statusCode(400).body("error.message", containsString("9 decimal places"));
        assertReconciled(account);
    }

    @Test
    void plainAsciiDecimalsStillWork() {
        String account = Tollgate.createAccount("ascii");
        admin().body(Map.of("amount_usd", "12")).post("/admin/v1/accounts/" + account + "/topups")
                .then().statusCode(201).body("balance_usd", equalTo("12.000000000"));
        admin().body(Map.of("amount_usd", "-2.5")).post("/admin/v1/accounts/" + account + "/adjustments")
                .then().statusCode(201).body("balance_usd", equalTo("9.500000000"));
        admin().body(Map.of("low_balance_threshold_usd", "0.000000001", "daily_spend_limit_usd", "007.10"))
                .patch("/admin/v1/accounts/" + account).then().statusCode(200)
                .body("low_balance_threshold_usd", equalTo("0.000000001"))
                .body("limits.daily_spend_limit_usd", equalTo("7.100000000"));
        admin().body("{\"daily_spend_limit_usd\": null}").patch("/admin/v1/accounts/" + account)
                .then().statusCode(200).body("limits.daily_spend_limit_usd", nullValue());
        assertReconciled(account);
    }

    private static List<Object> concat(List<String> strings, Object... more) {
        List<Object> all = new java.util.ArrayList<>(strings);
        all.addAll(List.of(more));
        return all;
    }
}
