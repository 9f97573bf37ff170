#!/usr/bin/env bash
# Start the loopback test stack for mailauth's integration tests (docs/testing.md):
#
#   knotd    authoritative DNS, 127.0.0.1/::1 port $DNS_PORT (5300)
#   unbound  validating resolver, 127.0.0.1/::1 port $RES_PORT (5301); its only
#            trust anchors are the DS records of our own signed zones
#   https    MTA-STS policy host, 127.0.0.1 port $HTTPS_PORT (8443), throwaway trustme CA
#
# Zones: every tests/infra/zones/<name>.zone is served as the zone <name>. A zone is
# signed by knotd at load, unless its file contains one of these pragma lines:
#   ; @infra: unsigned   served without DNSSEC and without a trust anchor (insecure)
#   ; @infra: tamper     signed offline with ldns-signzone, then the data of the marked
#                        records is altered (TXT "TAMPER-ME" -> "TAMPERED!", TLSA
#                        "3 1 1 1111..." -> "3 1 1 2222..."): validation fails (bogus)
#
# Environment: INFRA_RUN (runtime dir, wiped first; default ${TMPDIR:-/tmp}/mailauth-test-infra),
# DNS_PORT, RES_PORT, HTTPS_PORT, NO_HTTPS=1 (skip the HTTPS host), PYTHON (python3),
# NO_INSTALL=1 (never run apt-get/pip).
# Writes $INFRA_RUN/env (shell-sourceable; see the end of this file). Stop with down.sh.
# Every server binds to 127.0.0.1 / ::1 only, and the resolver refuses every name
# outside our zones, so no query ever leaves the machine.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZONES_SRC="$HERE/zones"
RUN="${INFRA_RUN:-${TMPDIR:-/tmp}/mailauth-test-infra}"
DNS_PORT="${DNS_PORT:-5300}"
RES_PORT="${RES_PORT:-5301}"
HTTPS_PORT="${HTTPS_PORT:-8443}"
PYTHON="${PYTHON:-python3}"
export DEBIAN_FRONTEND=noninteractive

now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
T0=$(now)

# ---- dependencies ------------------------------------------------------------------
apt_install() {
  echo "apt-get install $*"
  if ! apt-get install -y --no-install-recommends "$@" >"$RUN.apt.log" 2>&1; then
    echo "  install failed; apt-get update and retry"
    apt-get update >>"$RUN.apt.log" 2>&1 &&
      apt-get install -y --no-install-recommends "$@" >>"$RUN.apt.log" 2>&1 ||
      { tail -20 "$RUN.apt.log"; echo "up.sh: cannot install $*"; exit 1; }
  fi
  rm -f "$RUN.apt.log"
}
mkdir -p "$(dirname "$RUN")"
if [ -z "${NO_INSTALL:-}" ]; then
  need=()
  for b in knotd:knot keymgr:knot knotc:knot kdig:knot-dnsutils unbound:unbound \
           unbound-checkconf:unbound ldns-keygen:ldnsutils ldns-signzone:ldnsutils; do
    command -v "${b%%:*}" >/dev/null 2>&1 || need+=("${b#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    t=$(now)
    # shellcheck disable=SC2046
    apt_install $(printf '%s\n' "${need[@]}" | sort -u)   # daemons are not started by apt here
    echo "  apt done in $(el "$t")"
  fi
  if [ -z "${NO_HTTPS:-}" ] && ! "$PYTHON" -c 'import trustme' 2>/dev/null; then
    t=$(now); "$PYTHON" -m pip install -q trustme; echo "  pip install trustme in $(el "$t")"
  fi
fi
for b in knotd knotc keymgr kdig unbound unbound-checkconf ldns-keygen ldns-signzone; do
  command -v "$b" >/dev/null 2>&1 || { echo "up.sh: $b not found (install knot knot-dnsutils unbound ldnsutils)"; exit 1; }
done

# ---- fresh runtime dir; on any failure show the logs and stop what was started ------
[ -d "$RUN" ] && { INFRA_RUN="$RUN" "$HERE/down.sh" >/dev/null 2>&1 || true; }
rm -rf "$RUN"
mkdir -p "$RUN/knot/db" "$RUN/unbound" "$RUN/https" "$RUN/zones"
on_error() {
  local rc=$?
  echo "up.sh: FAILED (exit $rc)"
  for log in "$RUN/knot/knot.log" "$RUN/unbound/unbound.log" "$RUN/https/https.log"; do
    [ -s "$log" ] && { echo "--- tail $log"; tail -20 "$log"; }
  done
  INFRA_RUN="$RUN" "$HERE/down.sh" || true
  exit "$rc"
}
trap on_error ERR

# ---- zones ---------------------------------------------------------------------------
SIGNED=() UNSIGNED=() TAMPERED=()
shopt -s nullglob
zone_files=("$ZONES_SRC"/*.zone)
[ ${#zone_files[@]} -gt 0 ] || { echo "up.sh: no zone files in $ZONES_SRC"; false; }
for f in "${zone_files[@]}"; do
  z=$(basename "$f" .zone)
  [[ "$z" =~ ^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$ ]] || { echo "up.sh: bad zone file name $f"; false; }
  cp "$f" "$RUN/zones/$z.zone"
  if grep -Eq '^;[[:space:]]*@infra:[[:space:]]*unsigned' "$f"; then UNSIGNED+=("$z")
  elif grep -Eq '^;[[:space:]]*@infra:[[:space:]]*tamper' "$f"; then TAMPERED+=("$z")
  else SIGNED+=("$z"); fi
done
echo "zones: signed ${SIGNED[*]:-} | unsigned ${UNSIGNED[*]:-} | tampered ${TAMPERED[*]:-}"

for z in "${TAMPERED[@]}"; do   # sign offline, then alter signed data
  ( cd "$RUN/zones"
    K=$(ldns-keygen -a ECDSAP256SHA256 -k "$z")
    ldns-signzone -o "$z." -f "$z.zone.signed" "$z.zone" "$K"
    cp "$z.zone.signed" "$z.zone.orig"
    sed -i -E 's/TAMPER-ME/TAMPERED!/g; s/(TLSA[[:space:]]+3 1 1 )1111/\12222/' "$z.zone.signed"
    if cmp -s "$z.zone.signed" "$z.zone.orig"; then
      echo "up.sh: $z is marked tamper but has no TAMPER-ME TXT or 3 1 1 1111... TLSA"; exit 1
    fi
    cp "$K.ds" "../$z.ds"; rm -f "$K".* "$z.zone.orig" )
done

# ---- knotd -----------------------------------------------------------------------------
{ sed -e "s#@RUN@#$RUN#g; s#@DNS_PORT@#$DNS_PORT#g; s#@ZONES@#$RUN/zones#g" "$HERE/knot.conf.in"
  for z in "${SIGNED[@]}"; do
    printf '  - domain: "%s."\n    dnssec-signing: on\n    dnssec-policy: test\n' "$z"; done
  for z in "${UNSIGNED[@]}"; do printf '  - domain: "%s."\n' "$z"; done
  for z in "${TAMPERED[@]}"; do
    printf '  - domain: "%s."\n    file: "%s/zones/%s.zone.signed"\n' "$z" "$RUN" "$z"; done
} > "$RUN/knot.conf"
knotc -c "$RUN/knot.conf" conf-check >/dev/null
t=$(now)
knotd -c "$RUN/knot.conf" -d     # daemonizes; pid in $RUN/knot/knot.pid
# wait until every zone is served (over TCP: the very first UDP packet may be lost),
# signed ones with RRSIGs
for z in "${SIGNED[@]}" "${UNSIGNED[@]}" "${TAMPERED[@]}"; do
  ok=
  for _ in $(seq 250); do
    out=$(kdig @127.0.0.1 -p "$DNS_PORT" +tcp +time=1 +retry=0 +dnssec "$z." SOA 2>/dev/null || true)
    if grep -q 'status: NOERROR' <<<"$out" && grep -q "SOA" <<<"$out"; then
      if [[ " ${UNSIGNED[*]:-} " == *" $z "* ]] || grep -q RRSIG <<<"$out"; then ok=1; break; fi
    fi
    sleep 0.02
  done
  [ -n "$ok" ] || { echo "knotd does not serve $z"; false; }
done
cp "$RUN/knot/knot.pid" "$RUN/knot.pid.saved"   # knotd removes its own pid file on exit
echo "knotd   pid $(cat "$RUN/knot.pid.saved") ready on 127.0.0.1/::1:$DNS_PORT in $(el "$t")"

# ---- trust anchors: the SHA-256 DS of each signed zone's CSK, the ldns key's DS ---------
: > "$RUN/unbound/anchors.keys"
for z in "${SIGNED[@]}"; do
  ds=$(keymgr -c "$RUN/knot.conf" "$z." ds | awk '$5 == 2')   # name DS tag alg digtype digest
  [ -n "$ds" ] || { echo "no DS for $z"; false; }
  echo "$ds" >> "$RUN/unbound/anchors.keys"
done
for z in "${TAMPERED[@]}"; do cat "$RUN/$z.ds" >> "$RUN/unbound/anchors.keys"; done

# ---- unbound ------------------------------------------------------------------------------
{ for z in "${SIGNED[@]}" "${UNSIGNED[@]}" "${TAMPERED[@]}"; do
    printf '    local-zone: "%s." transparent\n' "$z"; done; } > "$RUN/unbound/local-zones"
{ for z in "${SIGNED[@]}" "${UNSIGNED[@]}" "${TAMPERED[@]}"; do
    printf 'stub-zone:\n    name: "%s."\n    stub-addr: 127.0.0.1@%s\n' "$z" "$DNS_PORT"; done
} > "$RUN/unbound/stub-zones"
sed -e "s#@RUN@#$RUN#g; s#@DNS_PORT@#$DNS_PORT#g; s#@RES_PORT@#$RES_PORT#g" \
    -e "/^@LOCAL_ZONES@\$/{r $RUN/unbound/local-zones" -e 'd}' \
    -e "/^@STUB_ZONES@\$/{r $RUN/unbound/stub-zones" -e 'd}' \
    "$HERE/unbound.conf.in" > "$RUN/unbound.conf"
unbound-checkconf "$RUN/unbound.conf" >/dev/null
t=$(now)
unbound -c "$RUN/unbound.conf"   # daemonizes; pid in $RUN/unbound/unbound.pid
cp "$RUN/unbound/unbound.pid" "$RUN/unbound.pid.saved" 2>/dev/null || true
for z in "${SIGNED[@]}" "${TAMPERED[@]}" "${UNSIGNED[@]}"; do
  ok=
  for _ in $(seq 250); do
    out=$(kdig @127.0.0.1 -p "$RES_PORT" +tcp +time=1 +retry=0 +dnssec "$z." SOA 2>/dev/null || true)
    if grep -q 'status: NOERROR' <<<"$out"; then
      if [[ " ${UNSIGNED[*]:-} " == *" $z "* ]] || grep -q 'Flags:.* ad' <<<"$out"; then ok=1; break; fi
    fi
    sleep 0.02
  done
  [ -n "$ok" ] || { echo "unbound does not validate $z"; false; }
done
cp "$RUN/unbound/unbound.pid" "$RUN/unbound.pid.saved"
echo "unbound pid $(cat "$RUN/unbound.pid.saved") ready on 127.0.0.1/::1:$RES_PORT in $(el "$t")"

# ---- HTTPS policy host ------------------------------------------------------------------------
HTTPS_CA=
if [ -z "${NO_HTTPS:-}" ]; then
  t=$(now)
  nohup setsid "$PYTHON" "$HERE/https_server.py" "$RUN/https" "$HERE/www" "$HTTPS_PORT" \
      > "$RUN/https/https.log" 2>&1 < /dev/null &
  echo $! > "$RUN/https.pid.saved"
  ok=
  for _ in $(seq 200); do
    if [ -s "$RUN/https/ready" ]; then ok=1; break; fi
    kill -0 "$(cat "$RUN/https.pid.saved")" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$ok" ] || { echo "https server not ready"; false; }
  HTTPS_CA="$RUN/https/ca.pem"
  echo "https   pid $(cat "$RUN/https.pid.saved") ready on 127.0.0.1:$HTTPS_PORT in $(el "$t")"
fi

cat > "$RUN/env" <<ENV
INFRA_RUN=$RUN
INFRA_HOST=127.0.0.1
DNS_AUTH=127.0.0.1
DNS_AUTH_PORT=$DNS_PORT
DNS_RESOLVER=127.0.0.1
DNS_RESOLVER_PORT=$RES_PORT
KNOT_CONF=$RUN/knot.conf
UNBOUND_CONF=$RUN/unbound.conf
INFRA_SIGNED_ZONES="${SIGNED[*]:-}"
INFRA_UNSIGNED_ZONES="${UNSIGNED[*]:-}"
INFRA_TAMPERED_ZONES="${TAMPERED[*]:-}"
HTTPS_PORT=${HTTPS_CA:+$HTTPS_PORT}
HTTPS_CA=$HTTPS_CA
ENV
trap - ERR
echo "all up in $(el "$T0"); env file: $RUN/env"
