package dev.tollgate.batches;

import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/**
 * One settlement pass over the unfinished batches, for an external scheduler (on AWS Lambda no
 * timer runs between invocations). Guarded like the rest of /admin; safe to call from many places
 * at once.
 */
@Path("/admin/v1/maintenance/batches")
@Produces(MediaType.APPLICATION_JSON)
public class BatchMaintenanceResource {

    private final BatchSettler settler;

    public BatchMaintenanceResource(BatchSettler settler) {
        this.settler = settler;
    }

    @POST
    public BatchSettler.Pass run() {
        return settler.run();
    }
}
