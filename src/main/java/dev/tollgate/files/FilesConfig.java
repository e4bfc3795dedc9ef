package dev.tollgate.files;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Files settings ({@code tollgate.files.*}); the quotas can be overridden per account. */
@ConfigMapping(prefix = "tollgate.files")
public interface FilesConfig {

    /** Largest upload in bytes (500 MB, the upstream's limit); more is 413. */
    @WithDefault("524288000")
    long maxFileBytes();

    /** Files one account may store at once (accounts.max_files overrides it). */
    @WithDefault("1000")
    int maxFiles();

    /** Bytes one account may store at once (accounts.max_file_bytes_total overrides it): 10 GiB. */
    @WithDefault("10737418240")
    long maxFileBytesTotal();
}
