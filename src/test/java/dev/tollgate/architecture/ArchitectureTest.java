package dev.tollgate.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The dependency rules of docs/architecture.md, checked against the compiled application classes:
 * each keeps one part understandable and testable without the others. Plain JUnit tests over
 * ArchUnit's core API, because ArchUnit's own JUnit 5 engine finds no tests on the JUnit 6
 * platform that Quarkus brings.
 */
class ArchitectureTest {

    private static final JavaClasses APPLICATION = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tollgate");

    /** Money does not know who calls it: the relay, the upstream client or the operator's API. */
    @Test
    void ledgerImportsNothingFromGatewayUpstreamOrAdmin() {
        noClasses().that().resideInAPackage("dev.tollgate.ledger..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.tollgate.gateway..", "dev.tollgate.upstream..", "dev.tollgate.admin..")
                .check(APPLICATION);
    }

    /**
     * The HTTP client to Claude and the pool of upstreams move bytes; holds and settlements are the
     * relay's business. Only the ledger's formatting of amounts (Money, a pure function) may be used.
     */
    @Test
    void upstreamNeverTouchesTheLedger() {
        noClasses().that().resideInAPackage("dev.tollgate.upstream..")
                .should().dependOnClassesThat(JavaClass.Predicates.resideInAPackage("dev.tollgate.ledger..")
                        .and(DescribedPredicate.not(JavaClass.Predicates.equivalentTo(dev.tollgate.ledger.Money.class))))
                .check(APPLICATION);
    }

    /** Prices, costs and usage extraction are pure: no database, no network, no account state. */
    @Test
    void meteringIsPure() {
        noClasses().that().resideInAPackage("dev.tollgate.metering..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "java.sql..", "javax.sql..", "io.agroal..", "jakarta.persistence..", "org.hibernate..",
                        "io.quarkus.hibernate..", "io.vertx..", "java.net..", "jakarta.ws.rs..",
                        "dev.tollgate.ledger..", "dev.tollgate.gateway..", "dev.tollgate.admin..",
                        "dev.tollgate.keys..", "dev.tollgate.limits..", "dev.tollgate.selfservice..")
                .check(APPLICATION);
    }

    /** A plan's prices are a pure function of the list price and the plan, as the list prices are. */
    @Test
    void planPricingIsPure() {
        noClasses().that().haveFullyQualifiedName("dev.tollgate.plans.PlanPricing")
                .or().haveFullyQualifiedName("dev.tollgate.plans.Plan")
                .or().haveFullyQualifiedName("dev.tollgate.plans.ModelOverride")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "java.sql..", "javax.sql..", "io.agroal..", "jakarta.persistence..", "org.hibernate..",
                        "io.vertx..", "java.net..", "jakarta.ws.rs..", "dev.tollgate.ledger..")
                .check(APPLICATION);
    }

    /** ...apart from loading its table: only PriceTable reads files (the operator's prices file). */
    @Test
    void onlyThePriceTableReadsFiles() {
        noClasses().that().resideInAPackage("dev.tollgate.metering..").and().doNotHaveSimpleName("PriceTable")
                .should().dependOnClassesThat().resideInAPackage("java.nio.file..")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.io.File")
                .check(APPLICATION);
    }

    /** The embedded database's library is left out of packaged applications: only devdb may use it. */
    @Test
    void onlyDevdbUsesTheEmbeddedDatabase() {
        noClasses().that().resideOutsideOfPackage("dev.tollgate.devdb..")
                .should().dependOnClassesThat().resideInAPackage("io.zonky..")
                .check(APPLICATION);
    }
}
