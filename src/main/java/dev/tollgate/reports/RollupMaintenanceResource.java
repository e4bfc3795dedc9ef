package dev.tollgate.reports;

import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/**
 * One pass of the roll-up job, for an external scheduler (on AWS Lambda no timer runs between
 * invocations). Guarded like the rest of /admin; safe to call from many places at once.
 */
@Path("/admin/v1/maintenance/rollups")
@Produces(MediaType.APPLICATION_JSON)
public class RollupMaintenanceResource {

    private final UsageRollups rollups;

    public RollupMaintenanceResource(UsageRollups rollups) {
        this.rollups = rollups;
    }

    @POST
    public UsageRollups.Pass run() {
        return rollups.run();
    }
}
