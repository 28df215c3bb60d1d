#!/usr/bin/env python3
"""Checks packaging/grafana/lacquer.json against lacquerd's metric contract.

  check_dashboard.py lint DASHBOARD [--promtool PATH] [--rules FILE ...]
      Static checks: the JSON model (ids, datasource, refIds, variables), every metric and label
      name against the contract below, and every PromQL expression parsed by promtool (each one,
      its Grafana variables substituted, becomes a recording rule for `promtool check rules`).
      --rules: the lacquer_* metric names in these files (alert rules and their tests) must be
      in the contract too, or an alert could be tested green and never fire.
  check_dashboard.py contract
      Prints the metric names of the contract, one per line (histograms as _bucket/_sum/_count).
  check_dashboard.py exprs DASHBOARD [--title T] [--set VAR=VALUE ...]
      Prints the expressions (variables substituted), one per line.
  check_dashboard.py query DASHBOARD --prometheus URL [--title T] [--time UNIX] [--set ...]
      Asks a running Prometheus (/api/v1/query) for every expression and every variable query;
      fails unless each one succeeds with at least one sample.
  check_dashboard.py value DASHBOARD --prometheus URL --title T [--time UNIX] [--set ...]
      Prints the single value of the single expression of the panel titled T.

Variables: $__rate_interval defaults to 1m, $__interval to 15s, $__range to 1h; every dashboard
variable ($job, $route, ...) to `.*`, which is why they may only appear inside =~"..." matchers.
Only the standard library is used (python3 is all tools/install-deps.sh provides).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

# The metric contract: name -> labels (besides job and instance, which Prometheus adds).
_ROUTE = {"route", "cache_status"}
CONTRACT = {
    "lacquer_build_info": {"version"},
    "lacquer_workers": set(),
    "lacquer_ready": set(),
    "lacquer_requests_total": _ROUTE,
    "lacquer_origin_requests_total": {"origin", "server"},
    "lacquer_origin_responses_total": {"origin", "server", "status_class"},
    "lacquer_origin_errors_total": {"origin", "server", "kind"},
    "lacquer_origin_server_up": {"origin", "server"},
    "lacquer_origin_in_flight": {"origin", "server"},
    "lacquer_origin_ejections_total": {"origin", "server"},
    "lacquer_origin_probes_total": {"origin", "server", "result"},
    "lacquer_coalesced_waits_total": set(),
    "lacquer_origin_fetches_avoided_total": set(),
    "lacquer_coalesce_wait_timeouts_total": set(),
    "lacquer_background_refreshes_total": set(),
    "lacquer_hit_for_miss_total": set(),
    "lacquer_stale_served_total": {"reason"},
    "lacquer_store_objects": set(),
    "lacquer_store_bytes": set(),
    "lacquer_store_budget_bytes": set(),
    "lacquer_store_evictions_total": set(),
    "lacquer_not_stored_total": {"reason"},
    "lacquer_connections_open": set(),
    "lacquer_connections_accepted_total": set(),
    "lacquer_connections_refused_total": set(),
    "lacquer_client_received_bytes_total": set(),
    "lacquer_client_sent_bytes_total": set(),
    "lacquer_config_reloads_total": {"result"},
    "lacquer_responses_total": {"route", "code"},
    "lacquer_route_caches": {"route"},
    "lacquer_route_last_request_timestamp_seconds": {"route"},
    "lacquer_route_recent_requests": {"route", "window"},
    "lacquer_tls_handshakes_total": {"result", "version"},
    "lacquer_tls_resumptions_total": set(),
    # The process_* metrics of every Prometheus client library, read from /proc at the scrape.
    "process_cpu_seconds_total": set(),
    "process_open_fds": set(),
    "process_max_fds": set(),
    "process_virtual_memory_bytes": set(),
    "process_resident_memory_bytes": set(),
    "process_start_time_seconds": set(),
}
HISTOGRAMS = {
    "lacquer_request_duration_seconds": _ROUTE,
    "lacquer_origin_fetch_duration_seconds": {"origin", "server"},
    "lacquer_tls_handshake_seconds": {"result", "version"},
}
for _name, _labels in HISTOGRAMS.items():
    CONTRACT[_name + "_bucket"] = _labels | {"le"}
    CONTRACT[_name + "_sum"] = _labels
    CONTRACT[_name + "_count"] = _labels
TARGET_LABELS = {"job", "instance"}
# Labels whose values are a closed set: a literal matcher outside it can never match.
LABEL_VALUES = {
    "cache_status": {"hit", "miss", "stale", "revalidated", "coalesced", "pass", "hit_for_miss",
                     "synth", "error"},
    "status_class": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    "kind": {"all_busy", "connect_failed", "connect_timeout", "first_byte_timeout",
             "between_bytes_timeout", "bad_response", "closed"},
    "reason": {"while_refresh", "origin_error", "method", "status", "no_store", "private",
               "set_cookie", "authorization", "vary_star", "vary", "no_freshness", "too_large",
               "incomplete"},
    "result": {"success", "failure", "ok", "failed"},  # probes; TLS handshakes
    "code": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    "window": {"1h", "24h", "7d"},
}

BUILTIN_DEFAULTS = {
    "__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000",
    "__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
METRIC = re.compile(r"(?<![\w:])(?:lacquer|process)_[a-z0-9_]+")  # not in a recording rule name
SELECTOR = re.compile(r"(\b(?:lacquer|process)_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


class Expr:
    def __init__(self, where, raw):
        self.where = where  # "panel title/refId" or "variable NAME"
        self.raw = raw

    def substituted(self, values):
        def repl(match):
            name = match.group(1) or match.group(2)
            return values.get(name, BUILTIN_DEFAULTS.get(name, ".*"))
        return VARIABLE.sub(repl, self.raw)


def walk_panels(panels):
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def variable_query(variable):
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query", "")
    return query or ""


def label_values_as_promql(query):
    """label_values(SELECTOR, LABEL) -> (count by (LABEL) (SELECTOR), LABEL)."""
    match = re.fullmatch(r"\s*label_values\s*\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", query, re.S)
    if not match:
        return None, None
    return f"count by ({match.group(2)}) ({match.group(1)})", match.group(2)


def collect(dashboard, title=None):
    exprs = []
    for panel in walk_panels(dashboard.get("panels", [])):
        if title is not None and panel.get("title") != title:
            continue
        for target in panel.get("targets", []):
            if "expr" in target:
                where = f'{panel.get("title")}/{target.get("refId")}'
                exprs.append(Expr(where, target["expr"]))
    return exprs


def variable_exprs(dashboard):
    out = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        promql, _ = label_values_as_promql(variable_query(variable))
        out.append(Expr(f'variable {variable.get("name")}', promql or variable_query(variable)))
    return out


def lint_model(dashboard, errors):
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
        errors.append("schemaVersion missing or older than 36")
    for key in ("uid", "title"):
        if not dashboard.get(key):
            errors.append(f"dashboard has no {key}")
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    datasource_vars = {n for n, v in variables.items() if v.get("type") == "datasource"}
    inputs = {i.get("name") for i in dashboard.get("__inputs", [])}
    if not datasource_vars and not inputs:
        errors.append("no datasource variable and no __inputs: the dashboard is not portable")
    known = set(variables) | set(BUILTIN_DEFAULTS) | inputs
    ids = set()
    for panel in walk_panels(dashboard.get("panels", [])):
        name = panel.get("title") or f'panel {panel.get("id")}'
        if panel.get("id") in ids or not isinstance(panel.get("id"), int):
            errors.append(f"{name}: missing or duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in "hwxy") or grid["x"] + grid["w"] > 24:
            errors.append(f"{name}: bad gridPos {grid}")
        if panel.get("type") == "row":
            continue
        uid = str(panel.get("datasource", {}).get("uid", ""))
        if not VARIABLE.fullmatch(uid):
            errors.append(f"{name}: datasource uid {uid!r} is not a variable or input")
        targets = panel.get("targets", [])
        refs = [t.get("refId") for t in targets]
        if not targets or len(set(refs)) != len(refs) or None in refs:
            errors.append(f"{name}: no targets, or missing/duplicate refIds {refs}")
        if not panel.get("description"):
            errors.append(f"{name}: no description")
        for target in targets:
            if not str(target.get("expr", "")).strip():
                errors.append(f"{name}/{target.get('refId')}: empty expr")
    for expr in collect(dashboard) + variable_exprs(dashboard):
        for match in VARIABLE.finditer(expr.raw):
            var = match.group(1) or match.group(2)
            if var not in known:
                errors.append(f"{expr.where}: unknown variable ${var}")
    return variables


def lint_names(expr, variables, errors):
    text = expr.raw
    used = set(METRIC.findall(text))
    for name in used - set(CONTRACT):
        errors.append(f"{expr.where}: {name} is not in the metric contract")
    allowed = set().union(*(CONTRACT.get(n, set()) for n in used)) | TARGET_LABELS
    for metric, body in SELECTOR.findall(text):
        rest = body
        while rest.strip():
            match = MATCHER.match(rest)
            if not match:
                errors.append(f"{expr.where}: cannot read matchers {{{body}}}")
                break
            label, op, value = match.groups()
            if label not in CONTRACT.get(metric, set()) | TARGET_LABELS:
                errors.append(f"{expr.where}: {metric} has no label {label}")
            # Literal values, or regex alternatives made of plain words, must exist.
            words = value.split("|") if op in ("=~", "!~") else [value]
            if label in LABEL_VALUES and all(re.fullmatch(r"\w+", w) for w in words):
                for word in set(words) - LABEL_VALUES[label]:
                    errors.append(f"{expr.where}: {label} has no value {word!r}")
            for var in VARIABLE.finditer(value):
                name = var.group(1) or var.group(2)
                if name in variables and op != "=~":
                    errors.append(f"{expr.where}: ${name} used with {op}; use =~ so that "
                                  f"'All' (.*) works")
            rest = rest[match.end():]
    for group in GROUPING.findall(text):
        for label in filter(None, (g.strip() for g in group.split(","))):
            if label not in allowed:
                errors.append(f"{expr.where}: grouping label {label} is not a label of "
                              f"{sorted(used)}")


def lint_promql(exprs, promtool, errors):
    """promtool has no PromQL-only check, but `check rules` parses every rule expression."""
    rules = [{"record": f"dashboard:expr_{i}", "expr": e.substituted({})}
             for i, e in enumerate(exprs)]
    with tempfile.TemporaryDirectory(prefix="lacquer-dashboard-") as tmp:
        path = os.path.join(tmp, "dashboard-exprs.yml")
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, out, indent=1)
        run = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True,
                             timeout=60, check=False)
    if run.returncode != 0:
        where = "\n".join(f"  dashboard:expr_{i} = {e.where}" for i, e in enumerate(exprs))
        errors.append(f"promtool check rules failed on the dashboard expressions:\n"
                      f"{run.stdout}{run.stderr}\nrule names:\n{where}")


def lint(args):
    dashboard = load(args.dashboard)
    errors = []
    variables = lint_model(dashboard, errors)
    exprs = collect(dashboard)
    var_exprs = variable_exprs(dashboard)
    for expr in exprs + var_exprs:
        lint_names(expr, variables, errors)
    for variable in variables.values():
        if variable.get("type") == "query" and variable.get("includeAll") and \
                variable.get("allValue") != ".*":
            errors.append(f"variable {variable.get('name')}: 'All' must be .* (allValue)")
    for path in args.rules or []:
        with open(path, encoding="utf-8") as rules:
            for number, line in enumerate(rules, 1):
                for name in set(METRIC.findall(line.split("#")[0])) - set(CONTRACT):
                    errors.append(f"{path}:{number}: {name} is not in the metric contract")
    promtool = args.promtool or shutil.which("promtool")
    if not promtool:
        errors.append("promtool not found (Debian package prometheus; tools/install-deps.sh test)")
    else:
        lint_promql(exprs + var_exprs, promtool, errors)
    for error in errors:
        print(f"{args.dashboard}: {error}", file=sys.stderr)
    if not errors:
        print(f"{args.dashboard}: {len(exprs)} panel expressions and {len(var_exprs)} variable "
              f"queries OK")
    return 1 if errors else 0


def query(prometheus, promql, at=None, timeout=10):
    params = {"query": promql}
    if at is not None:
        params["time"] = at
    url = prometheus.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)
    # No proxy: an http_proxy in the environment must not capture a loopback Prometheus.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:  # 400/422: the body says why
        body = json.load(error)
    if body.get("status") != "success":
        raise ValueError(f'{body.get("errorType")}: {body.get("error")}')
    data = body["data"]
    if data["resultType"] in ("scalar", "string"):
        return [({}, data["result"][1])]
    if data["resultType"] == "matrix":
        return [(r["metric"], r["values"][-1][1]) for r in data["result"]]
    return [(r["metric"], r["value"][1]) for r in data["result"]]


def settings(args):
    values = {}
    for item in args.set or []:
        name, _, value = item.partition("=")
        values[name.lstrip("$")] = value
    return values


def query_all(args):
    dashboard = load(args.dashboard)
    exprs = collect(dashboard, args.title)
    if args.title is None:
        exprs += variable_exprs(dashboard)
    if not exprs:
        print(f"no expressions (title {args.title!r})", file=sys.stderr)
        return 1
    failed = 0
    for expr in exprs:
        promql = expr.substituted(settings(args))
        try:
            samples = query(args.prometheus, promql, args.time)
        except (ValueError, OSError) as error:
            print(f"ERROR\t{expr.where}\t{error}\t{promql!r}")
            failed += 1
            continue
        if not samples:
            print(f"EMPTY\t{expr.where}\t{promql!r}")
            failed += 1
            continue
        shown = ", ".join(f"{json.dumps(m, sort_keys=True)}={v}" for m, v in samples[:4])
        print(f"OK\t{expr.where}\t{len(samples)} series\t{shown}")
    print(f"{len(exprs) - failed} of {len(exprs)} expressions returned data")
    return 1 if failed else 0


def value(args):
    exprs = collect(load(args.dashboard), args.title)
    if len(exprs) != 1:
        print(f"panel {args.title!r} has {len(exprs)} expressions, not 1", file=sys.stderr)
        return 1
    promql = exprs[0].substituted(settings(args))
    samples = query(args.prometheus, promql, args.time)
    if len(samples) != 1:
        print(f"{promql!r} returned {len(samples)} samples, not 1", file=sys.stderr)
        return 1
    print(samples[0][1])
    return 0


def exprs_cmd(args):
    for expr in collect(load(args.dashboard), args.title):
        print(" ".join(expr.substituted(settings(args)).split()))
    return 0


def contract_cmd(_args):
    for name in sorted(CONTRACT):
        print(name)
    return 0


def load(path):
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("contract").set_defaults(fn=contract_cmd)
    for name, fn in (("lint", lint), ("exprs", exprs_cmd), ("query", query_all),
                     ("value", value)):
        sub = commands.add_parser(name)
        sub.add_argument("dashboard")
        sub.set_defaults(fn=fn)
        if name == "lint":
            sub.add_argument("--promtool")
            sub.add_argument("--rules", nargs="*", metavar="FILE")
            continue
        sub.add_argument("--title", required=name == "value")
        sub.add_argument("--set", action="append", metavar="VAR=VALUE")
        if name in ("query", "value"):
            sub.add_argument("--prometheus", required=True, metavar="URL")
            sub.add_argument("--time", metavar="UNIX_SECONDS")
    args = parser.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
