vcl 4.1;
# Varnish in front of HAProxy (deploy/cluster/run.sh). Varnish's built-in rules already keep
# out of the shared cache what sipi marks private (restricted or watermarked views:
# `Cache-Control: private, no-cache`) and every request that carries a Cookie or an
# Authorization header. This file adds: a header saying HIT or MISS, and PURGE / BAN from
# localhost for a replaced master (docs/operator-guide.md, "Running several instances").

backend haproxy {
    .host = "127.0.0.1";
    .port = "@HAPROXY_PORT@";
}

acl purgers {
    "127.0.0.1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) { return (synth(405, "Not allowed")); }
        return (purge);
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) { return (synth(405, "Not allowed")); }
        # BAN /iiif/book/p1.jp2 drops every derivative and info.json of that image.
        ban("req.url ~ ^" + req.url + "/");
        return (synth(200, "Banned"));
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
