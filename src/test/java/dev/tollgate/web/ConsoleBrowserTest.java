package dev.tollgate.web;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.math.BigDecimal;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator console and the customer portal in a real headless Chromium: what an operator and
 * a customer do, end to end, through the pages alone (the API only to make calls and codes).
 * Saves screenshots to target/screenshots/.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ConsoleBrowserTest {

    static WebDriver browser;

    @TestHTTPResource("/")
    URL base;

    @BeforeAll
    static void startBrowser() {
        browser = Browser.start(1280, 900);
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    private String url(String path) {
        return base.toString().replaceAll("/$", "") + path;
    }

    private WebElement byId(String id) {
        return browser.findElement(By.id(id));
    }

    private void waitFor(By by) {
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.presenceOfElementLocated(by));
    }

    private void awaitUrl(String ending) {
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlContains(ending));
    }

    private void signInToConsole() {
        browser.get(url("/console"));
        assertTrue(browser.getCurrentUrl().endsWith("/console/sign-in"), browser.getCurrentUrl());
        byId("token").sendKeys(Tollgate.ADMIN_TOKEN);
        byId("sign-in").click();
        waitFor(By.id("sign-out"));
    }

    @Test
    void anOperatorSignsInCreatesAnAccountTopsItUpAndIssuesAKeySeenOnce() throws Exception {
        browser.manage().deleteAllCookies();
        // A wrong token is refused, and the token never lands in the URL.
        browser.get(url("/console/sign-in"));
        byId("token").sendKeys("not-the-token");
        byId("sign-in").click();
        assertTrue(byId("error").getText().contains("not the admin token"));
        assertFalse(browser.getCurrentUrl().contains("not-the-token"));

        signInToConsole();
        assertEquals("Dashboard", browser.findElement(By.tagName("h1")).getText());

        browser.get(url("/console/accounts"));
        String name = "Acme Labs " + System.nanoTime() % 10000;
        byId("new-name").sendKeys(name);
        byId("create-account").click();
        waitFor(By.id("account-name"));
        assertEquals(name, byId("account-name").getText());
        String accountPage = browser.getCurrentUrl();
        String accountId = accountPage.replaceAll(".*/console/accounts/([0-9a-f-]{36}).*", "$1");

        byId("topup-amount").sendKeys("25.00");
        byId("topup-note").sendKeys("first top-up");
        byId("topup").click();
        waitFor(By.id("msg"));
        assertTrue(byId("msg").getText().contains("credited"), byId("msg").getText());
        assertEquals("$25.00", byId("balance").getText());
        // The same form sent again (a reload of the POST, a double click) credits once: its idempotency key.
        browser.navigate().back();
        waitFor(By.id("topup"));
        byId("topup-amount").clear();
        byId("topup-amount").sendKeys("25.00");
        byId("topup-note").clear();
        byId("topup-note").sendKeys("first top-up");
        byId("topup").click();
        waitFor(By.id("msg"));
        assertTrue(byId("msg").getText().contains("already credited"), byId("msg").getText());
        assertEquals("$25.00", byId("balance").getText(), "the second send of the same form must not credit");

        byId("key-name").sendKeys("laptop");
        byId("create-key").click();
        waitFor(By.id("secret-dialog"));
        String secret = byId("secret").getText();
        assertTrue(secret.startsWith("sk-tg-") && secret.length() > 40, secret);
        assertTrue(byId("copy-secret").isDisplayed());
        Browser.screenshot(browser, "console-key-created");
        byId("close-secret").click();
        assertFalse(byId("secret-dialog").isDisplayed());

        // Shown once: the account page never shows it again.
        browser.get(accountPage);
        assertFalse(browser.getPageSource().contains(secret), "the secret is shown only once");
        assertTrue(browser.findElements(By.id("secret-dialog")).isEmpty());

        // The key works, and a call with cache reads shows up in the customer's portal.
        FakeUpstreamResource.fake().enqueue(Scenario.reply("Hi there").usage(Usage.of(1000, 200).cacheRead(3000)));
        client(secret).body(messageBody("claude-sonnet-4-6", 300, "hello")).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(accountId);
        BigDecimal balance = Tollgate.balance(accountId);
        assertTrue(balance.compareTo(new BigDecimal("25")) < 0);

        browser.get(accountPage);
        waitFor(By.cssSelector("#usage-chart[data-rendered]"));
        assertTrue(byId("calls").getText().contains("claude-sonnet-4-6"));
        browser.manage().window().setSize(new Dimension(1280, 2300));
        Browser.screenshot(browser, "console-account");
        browser.manage().window().setSize(new Dimension(1280, 900));

        byId("reconcile").click();
        waitFor(By.id("consistent"));
        assertTrue(byId("consistent").getText().startsWith("Consistent"), byId("consistent").getText());

        browser.get(url("/console"));
        waitFor(By.cssSelector("#calls-chart[data-rendered]"));
        assertTrue(Integer.parseInt(byId("calls-chart").getAttribute("data-rendered")) >= 1, "the call's hour is charted");
        assertFalse(byId("today-calls").getText().startsWith("0 "), byId("today-calls").getText());
        // Other test classes' accounts may outspend it in a full run: the top list is there, with links.
        assertFalse(browser.findElements(By.cssSelector("#top a[href^='/console/accounts/']")).isEmpty(),
                "top accounts listed");
        browser.manage().window().setSize(new Dimension(1280, 1000));
        Browser.screenshot(browser, "console-dashboard");

        // The customer's side: the portal with this key.
        browser.get(url("/portal"));
        assertTrue(browser.getCurrentUrl().endsWith("/portal/sign-in"));
        byId("key").sendKeys(secret);
        byId("sign-in").click();
        waitFor(By.id("balance"));
        assertEquals(usd(balance), byId("balance").getText());
        // 3000 read ÷ (3000 read + 0 written + 1000 uncached input)
        assertEquals("75.0%", byId("hit-rate").getText());
        assertEquals("3,000", byId("cache-read").getText());
        // 3000 tokens read at $0.30 rather than $3.00 per million (claude-sonnet-4-6's list prices)
        assertEquals("$0.0081", byId("cache-saved").getText());
        waitFor(By.cssSelector("#usage-chart[data-rendered]"));
        assertTrue(Integer.parseInt(byId("usage-chart").getAttribute("data-rendered")) >= 1,
                "the chart shows the call's day");
        assertTrue(byId("calls").getText().contains("claude-sonnet-4-6"));
        assertTrue(byId("base-url").getText().startsWith("http://"));
        assertTrue(byId("qs-claude-code").getText().contains("ANTHROPIC_BASE_URL=" + byId("base-url").getText()));
        assertFalse(browser.getPageSource().contains(secret), "the key is not kept in the page");
        assertTrue(browser.manage().getCookies().stream().noneMatch(c -> c.getValue().contains("sk-tg-")),
                "nor in a cookie");
        browser.manage().window().setSize(new Dimension(1280, 2600));
        Browser.screenshot(browser, "portal");

        // Redeem a code.
        Map<String, Object> batch = Tollgate.admin().body(Map.of("count", 1, "amount_usd", "5.00"))
                .post("/admin/v1/redemption-codes").then().statusCode(201).extract().as(Map.class);
        @SuppressWarnings("unchecked")
        String code = ((List<Map<String, String>>) batch.get("codes")).get(0).get("code");
        byId("code").sendKeys(code);
        byId("redeem").click();
        waitFor(By.id("msg"));
        assertTrue(byId("msg").getText().contains("$5.00"), byId("msg").getText());
        assertEquals(usd(balance.add(new BigDecimal("5"))), byId("balance").getText());
        byId("code").sendKeys(code);
        byId("redeem").click();
        waitFor(By.id("error"));

        // At phone width the portal still fits: no horizontal scroll of the page itself.
        browser.manage().window().setSize(new Dimension(390, 1800));
        browser.get(url("/portal"));
        Object overflow = ((org.openqa.selenium.JavascriptExecutor) browser)
                .executeScript("return document.documentElement.scrollWidth > window.innerWidth + 1");
        assertEquals(Boolean.FALSE, overflow, "the portal scrolls sideways at phone width");
        Browser.screenshot(browser, "portal-phone");
        browser.manage().window().setSize(new Dimension(1280, 900));

        byId("sign-out").click();
        awaitUrl("/portal/sign-in");
        browser.get(url("/portal"));
        assertTrue(browser.getCurrentUrl().endsWith("/portal/sign-in"), "signed out");

        // The console's sign-out too.
        browser.get(url("/console"));
        byId("sign-out").click();
        awaitUrl("/console/sign-in");
        browser.get(url("/console/accounts/" + accountId));
        assertTrue(browser.getCurrentUrl().endsWith("/console/sign-in"), "signed out");

        // Every page ran under the strict policy without a violation (no inline script or style).
        assertEquals(List.of(), Browser.cspViolations(browser));
        Tollgate.assertReconciled(accountId);
    }

    @Test
    void anOperatorAddsAnUpstreamAndAWebhookThroughThePages() {
        browser.manage().deleteAllCookies();
        signInToConsole();
        browser.get(url("/console/upstreams"));
        // Only the chosen kind's fields show (CSS alone, no script).
        new Select(byId("upstream-kind")).selectByValue("bedrock");
        assertFalse(byId("anthropic-api-key").isDisplayed());
        byId("upstream-name").sendKeys("browser-bedrock");
        byName("priority").sendKeys("1000");
        byName("bedrock.region").sendKeys("eu-west-1");
        byName("bedrock.access_key_id").sendKeys("AKIATOLLGATETEST0001");
        byName("bedrock.secret_access_key").sendKeys("browser/secret+0123456789");
        byName("bedrock.model_map").sendKeys("claude-haiku-4-5 = eu.anthropic.claude-haiku-4-5-v1:0");
        byName("weight").sendKeys("heavy");
        byId("create-upstream").click();
        // Refused (the API names the field): what was typed is back, the credentials are not.
        waitFor(By.id("error"));
        assertTrue(byId("error").getText().contains("weight"), byId("error").getText());
        assertEquals("bedrock", new Select(byId("upstream-kind")).getFirstSelectedOption().getAttribute("value"));
        assertEquals("browser-bedrock", byId("upstream-name").getAttribute("value"));
        assertEquals("1000", byName("priority").getAttribute("value"));
        assertEquals("eu-west-1", byName("bedrock.region").getAttribute("value"));
        assertEquals("claude-haiku-4-5 = eu.anthropic.claude-haiku-4-5-v1:0", byName("bedrock.model_map").getAttribute("value"));
        assertEquals("", byName("bedrock.secret_access_key").getAttribute("value"));
        assertFalse(browser.getPageSource().contains("browser/secret+0123456789"), "a credential is never shown");
        byName("weight").clear();
        byName("bedrock.access_key_id").sendKeys("AKIATOLLGATETEST0001");
        byName("bedrock.secret_access_key").sendKeys("browser/secret+0123456789");
        byId("create-upstream").click();
        waitFor(By.id("msg"));
        assertEquals("browser-bedrock", byId("upstream-name").getText());
        assertTrue(byId("msg").getText().contains("added"), byId("msg").getText());
        assertFalse(browser.getPageSource().contains("browser/secret+0123456789"), "a credential is never shown");
        browser.manage().window().setSize(new Dimension(1280, 1500));
        Browser.screenshot(browser, "console-upstream");
        browser.manage().window().setSize(new Dimension(1280, 900));

        byId("upstream-weight").clear();
        byId("upstream-weight").sendKeys("3");
        byId("save-upstream").click();
        waitFor(By.id("msg"));
        assertEquals("3", byId("upstream-weight").getAttribute("value"));
        assertEquals("browser-bedrock", byId("upstream-name").getText());
        noSidewaysScrollAtPhoneWidth();

        byId("delete-upstream").click();
        browser.switchTo().alert().accept();
        awaitUrl("/console/upstreams?msg=");
        assertFalse(byId("upstreams").getText().contains("browser-bedrock"));
        noSidewaysScrollAtPhoneWidth();

        browser.get(url("/console/webhooks"));
        byId("webhook-url").sendKeys("https://hooks.example.com/browser");
        byId("event-key.created").click();
        byId("event-balance.low").click();
        byId("create-webhook").click();
        waitFor(By.id("secret-dialog"));
        String secret = byId("secret").getText();
        assertTrue(secret.length() > 20, secret);
        assertTrue(byId("webhooks").getText().contains("https://hooks.example.com/browser"));
        byId("close-secret").click();
        browser.get(url("/console/webhooks"));
        assertFalse(browser.getPageSource().contains(secret), "the signing secret is shown once");
        noSidewaysScrollAtPhoneWidth();
        for (Object id : Tollgate.admin().get("/admin/v1/webhooks").then().extract().jsonPath()
                .getList("data.findAll { it.url == 'https://hooks.example.com/browser' }.id")) {
            Tollgate.admin().delete("/admin/v1/webhooks/" + id).then().statusCode(200);
        }
        assertEquals(List.of(), Browser.cspViolations(browser));
        byId("sign-out").click();
        awaitUrl("/console/sign-in");
    }

    private WebElement byName(String name) {
        return browser.findElement(By.name(name));
    }

    private void noSidewaysScrollAtPhoneWidth() {
        browser.manage().window().setSize(new Dimension(390, 1800));
        browser.navigate().refresh();
        Object overflow = ((org.openqa.selenium.JavascriptExecutor) browser)
                .executeScript("return document.documentElement.scrollWidth > window.innerWidth + 1");
        assertEquals(Boolean.FALSE, overflow, browser.getCurrentUrl() + " scrolls sideways at phone width");
        browser.manage().window().setSize(new Dimension(1280, 900));
    }

    private static String usd(BigDecimal amount) {
        BigDecimal abs = amount.abs();
        return "$" + String.format(java.util.Locale.US, abs.compareTo(new BigDecimal("0.01")) >= 0 ? "%,.2f" : "%,.6f", abs);
    }
}
