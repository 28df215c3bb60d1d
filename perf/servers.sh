# shellcheck shell=bash disable=SC2154 # tmp, pin, pids, oport, lpid, lport: from the sourcing script and perf/lib.sh
# lacquerd, nginx and Varnish as caching reverse proxies in front of the demo origin, each
# configured as its best-practice user would; shared by perf/compare.sh and perf/matrix.sh.
# Source it after perf/lib.sh, with `build`, `tmp` and `pin` set. Optional: `storage_mb` (the
# cache size of every server, default 256). Every wait is bounded.
#   start_server KIND WORKERS [TAG]  KIND: lacquerd nginx varnish nginx-return200; sets spid, sport
#   stop_server (the last started), stop_servers (all started), stop_all (the EXIT trap)
# Every caching server passes /pass/* to the origin uncached (lacquerd `pass: true`, nginx without
# proxy_cache, Varnish return (pass)); everything else under / is cached.
: "${storage_mb:=256}"

# Stop the packages' own services if their postinst started them (they would take CPU; their
# ports :80/:6081 are not ours). Other nginx/varnishd processes are only reported, never killed.
for service in nginx varnish; do
  if systemctl is-active --quiet "$service" 2> /dev/null; then
    echo "note: stopping the system $service service for this benchmark (systemctl stop $service)" >&2
    systemctl stop "$service"
  fi
done
others=$( { pgrep -x nginx; pgrep -x varnishd; } | paste -sd' ' || true)
if [ -n "$others" ]; then echo "warning: other nginx/varnishd processes are running: $others" >&2; fi

spid=""
servers_up=()
stop_pid() { # pid -> TERM, up to 10 s to exit, then KILL
  kill -TERM "$1" 2> /dev/null || return 0
  for _ in $(seq 200); do kill -0 "$1" 2> /dev/null || break; sleep 0.05; done
  kill -KILL "$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
}
stop_server() { # the last one start_server started
  if [ -z "$spid" ]; then return 0; fi
  stop_pid "$spid"
  local p keep=()
  for p in "${servers_up[@]}"; do if [ "$p" != "$spid" ]; then keep+=("$p"); fi; done
  servers_up=("${keep[@]}")
  spid=""
}
stop_servers() { # every server start_server started
  local p
  for p in "${servers_up[@]}"; do stop_pid "$p"; done
  servers_up=()
  spid=""
}
stop_all() {
  stop_servers
  for p in "${pids[@]}"; do stop_pid "$p"; done
  cleanup # lib.sh: its `wait` now finds nothing left to wait for
}
trap stop_all EXIT

# A free port from the kernel, for the servers that cannot print the port they bound to port 0.
# Racy: another process may take it before the server binds; the server then fails to start.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port pid log -> 0 once the port accepts connections; bounded (10 s)
  for _ in $(seq 200); do
    kill -0 "$2" 2> /dev/null || { echo "server exited:" >&2; cat "$3" >&2; return 1; }
    if (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listening on port $1 after 10 s:" >&2; cat "$3" >&2; return 1
}

run_nginx() { # dir -> nginx on $dir/nginx.conf in the foreground (pinned like the others); sets spid
  "${server_pin[@]}" nginx -p "$1" -c "$1/nginx.conf" -e stderr -g 'daemon off;' > "$1/out" 2>&1 &
  spid=$!
  wait_port "$sport" "$spid" "$1/out"
}

nginx_head() { # dir workers -> the top of an nginx.conf up to `http {` and its common settings
  local user=""
  if [ "$(id -u)" -eq 0 ]; then user="user root;"; fi # workers must write the 0700 $tmp
  # keepalive_requests: nginx closes a client connection after 1000 requests by default, the
  # others never do.
  cat <<NGINX
$user
worker_processes $2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
NGINX
}

start_server() { # kind workers [tag] -> sets spid and sport; the files live in $tmp/KIND-WORKERS[-TAG]
  local kind=$1 w=$2 dir="$tmp/$1-$2${3:+-$3}"
  local server_pin=()
  if [ "$pin" = 1 ] && [ "$w" = 1 ]; then server_pin=(taskset -c 0); fi
  mkdir -p "$dir"
  case $kind in
  lacquerd)
    base_config "$dir/lacquer.yaml" "$w" # log: { access: off }
    cache_routes "$storage_mb" >> "$dir/lacquer.yaml"
    start_lacquerd "$dir/lacquer.yaml"
    spid=$lpid sport=$lport
    if [ ${#server_pin[@]} -gt 0 ]; then taskset -a -p -c 0 "$spid" > /dev/null; fi
    ;;
  nginx)
    sport=$(free_port)
    # open_file_cache holds a descriptor per entry: its max stays below the fd limit nginx
    # inherits (ulimit -n), leaving room for worker_connections, or accept() and the upstream
    # sockets fail with EMFILE once that many cache files have been read.
    local nofile ofc_max=20000
    nofile=$(ulimit -n)
    if [ "$nofile" != unlimited ]; then
      if [ $((nofile - 5000)) -lt "$ofc_max" ]; then ofc_max=$((nofile - 5000)); fi
      if [ "$ofc_max" -lt $((nofile / 2)) ]; then ofc_max=$((nofile / 2)); fi
    fi
    # proxy_cache_lock: coalescing, off by default (waiters poll every 500 ms).
    # use_stale updating + background_update: the stale-while-refresh that lacquerd and Varnish
    # (grace) do by default. open_file_cache: hits skip open()/fstat() of the cache file.
    # reuseport: one listening socket per worker, as lacquerd has. No tcp_nopush (Debian's own
    # nginx.conf sets it): with it, 64 KiB hits here wait ~40 ms each on a delayed ACK.
    {
      nginx_head "$dir" "$w"
      cat <<NGINX
  proxy_cache_path $dir/cache levels=1:2 keys_zone=api:32m max_size=${storage_mb}m inactive=10m use_temp_path=off;
  open_file_cache max=$ofc_max inactive=60s;
  upstream origin { server 127.0.0.1:$oport; keepalive 64; }
  server {
    listen 127.0.0.1:$sport reuseport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache api;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_use_stale updating error timeout http_500 http_502 http_503 http_504;
      proxy_cache_background_update on;
    }
    location /pass/ {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
    } > "$dir/nginx.conf"
    run_nginx "$dir"
    ;;
  nginx-return200)
    # Not a cache: nginx answering every GET from memory with a body of ?size=16384 -> 16 KiB,
    # anything else -> 1 KiB, the near-limit of an HTTP/1.1 server on this box. The 16 KiB body
    # is sixteen copies of a 1 KiB variable (nginx refuses a config token over 4 KiB).
    sport=$(free_port)
    local kib
    kib=$(head -c 1024 /dev/zero | tr '\0' x)
    {
      nginx_head "$dir" "$w"
      cat <<NGINX
  default_type application/json;
  map \$arg_size \$kib { default "$kib"; }
  map \$arg_size \$reply {
    16384 "\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib\$kib";
    default "\$kib";
  }
  server {
    listen 127.0.0.1:$sport reuseport;
    location / { return 200 "\$reply"; }
  }
}
NGINX
    } > "$dir/nginx.conf"
    run_nginx "$dir"
    ;;
  varnish)
    sport=$(free_port)
    # The builtin VCL does the rest (Cookie/Authorization pass, TTL from Cache-Control, 10 s
    # grace). Sorting the query is the usual advice for APIs and what lacquerd's key does.
    cat > "$dir/default.vcl" <<VCL
vcl 4.1;
import std;
backend origin { .host = "127.0.0.1"; .port = "$oport"; }
sub vcl_recv {
  if (req.url ~ "^/pass/") { return (pass); }
  set req.url = std.querysort(req.url);
}
VCL
    # -j none: run as the invoking user (the default jail would need $tmp readable by vcache).
    # No varnishncsa runs, so there is no access log; the shared-memory log is always on.
    "${server_pin[@]}" varnishd -F -j none -n "$dir/varnish" -a "127.0.0.1:$sport" \
      -f "$dir/default.vcl" -s "malloc,${storage_mb}m" -p thread_pools="${w/auto/2}" > "$dir/out" 2>&1 &
    spid=$!
    wait_port "$sport" "$spid" "$dir/out"
    ;;
  *) echo "unknown server $kind" >&2; return 64 ;;
  esac
  servers_up+=("$spid")
}

# run_wrk (lib.sh) calls `wrk`: this adds the CPU pin of the load generator (client_pin, lib.sh)
# and wrk_extra.
wrk_bin=$(type -P wrk)
wrk_extra=()
wrk() { "${client_pin[@]}" "$wrk_bin" "$@" "${wrk_extra[@]}"; }
wrk_errors() { grep -o 'Non-2xx or 3xx responses: [0-9]*\|Socket errors.*' "$tmp/wrk.out" | tr -s ' ' | paste -sd' ' || true; }
