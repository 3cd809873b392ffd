--
-- sipi configuration for the container image (Dockerfile), copied to
-- /sipi/config/sipi.config.lua. It uses SIPI's container layout, so a SIPI deployment's
-- volumes fit: /sipi/images (images), /sipi/cache (derivative cache), /sipi/server (static
-- files and the demo viewer), /sipi/scripts (Lua route scripts), /sipi/config (this file).
-- Override single settings with SIPI_* environment variables (docker run -e ...), or mount
-- your own file over this one.
--
sipi = {
    port = 1024,
    bind_address = '0.0.0.0',
    hostname = 'localhost',

    imgroot = '/sipi/images',
    prefix_as_path = true,

    jpeg_quality = 80,
    scaling_quality = { jpeg = 'medium', tiff = 'high', png = 'high', j2k = 'high' },

    -- 0 = one decoding worker per CPU the container sees.
    nthreads = 0,
    -- Below Kubernetes' default 30 s grace period; with plain docker, stop with
    -- `docker stop -t 30` (or run with --stop-timeout 30): docker's default is 10 s.
    drain_timeout = 25,

    cache_dir = '/sipi/cache',
    cache_size = '1G',
    cache_nfiles = 0,

    scriptdir = '/sipi/scripts',
    tmpdir = '/tmp',

    max_width = 16384,
    max_height = 16384,
    max_area = 67108864,

    loglevel = 'INFO',
}

fileserver = {
    docroot = '/sipi/server',
    wwwroute = '/server',
}
