--
-- sipi configuration for a host install under systemd (deploy/sipi.service), installed as
-- /etc/sipi/sipi.config.lua. See docs/operator-guide.md and docs/user-guide.md for every key.
-- SIPI_* environment variables (the unit, /etc/default/sipi) override what is set here.
--
sipi = {
    port = 1024,
    -- '127.0.0.1' when a reverse proxy on the same host is the only client.
    bind_address = '0.0.0.0',
    hostname = 'localhost',

    -- Image repository, read-only for the service. With prefix_as_path,
    -- /books/p1.jp2/info.json reads /srv/sipi/images/books/p1.jp2.
    imgroot = '/srv/sipi/images',
    prefix_as_path = true,

    jpeg_quality = 80,
    scaling_quality = { jpeg = 'medium', tiff = 'high', png = 'high', j2k = 'high' },

    -- 0 = one decoding worker per core.
    nthreads = 0,
    -- Seconds a stop waits for requests in flight; keep below the unit's TimeoutStopSec.
    drain_timeout = 30,

    -- Derivative cache: the unit's CacheDirectory (the unit also sets SIPI_CACHE_DIR to it).
    cache_dir = '/var/cache/sipi',
    cache_size = '2G',
    cache_nfiles = 0,   -- no limit on the number of files, only on their size

    -- Upload spool (Lua routes); the unit gives the service a private /tmp.
    tmpdir = '/tmp',

    max_width = 16384,
    max_height = 16384,
    max_area = 67108864,

    loglevel = 'INFO',
}

-- Static files and .lua pages (optional):
-- fileserver = {
--     docroot = '/srv/sipi/server',
--     wwwroute = '/server',
-- }
