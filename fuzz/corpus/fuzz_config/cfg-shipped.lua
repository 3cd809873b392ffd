--
-- sipi's shipped default configuration: the samples in ./images on port 1024, with a demo
-- viewer page at http://localhost:1024/server/. The file is SIPI's format: the same `sipi`
-- and `fileserver` tables work with SIPI 7 and with sipi. Relative paths are relative to
-- the directory sipi is started from (the repository root for `make run`).
--
sipi = {
    port = 1024,
    hostname = 'localhost',

    -- Image repository. With prefix_as_path, /samples/fractal.tif/... reads
    -- ./images/samples/fractal.tif.
    imgroot = './images',
    prefix_as_path = true,

    jpeg_quality = 80,
    scaling_quality = { jpeg = 'medium', tiff = 'high', png = 'high', j2k = 'high' },

    -- 0 = one decoding worker per core.
    nthreads = 0,

    -- sipi's own settings (SIPI ignores them). IIIF limits, declared in info.json:
    max_width = 16384,
    max_height = 16384,
    max_area = 67108864,

    loglevel = 'INFO',
}

fileserver = {
    docroot = './server',
    wwwroute = '/server',
}
