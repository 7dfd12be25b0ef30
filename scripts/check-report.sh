#!/usr/bin/env bash
# Renders a dimr-eval report in a real headless browser (Debian's chromium) and fails if the page
# logs console errors, reaches for the network, or does not render.
#
#   scripts/check-report.sh report.html [screenshot.png]
#
# Installs chromium with apt-get when it is missing (needs root). Prints the DOM size and where
# the screenshot went; exit status 0 means the page rendered cleanly.
set -euo pipefail

report=${1:?usage: scripts/check-report.sh report.html [screenshot.png]}
shot=${2:-${report%.html}.png}
[ -f "$report" ] || { echo "check-report: no such file: $report" >&2; exit 2; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "check-report: installing chromium (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null
    browser=$(command -v chromium)
fi

# A self-contained page names no remote resource at all.
if grep -qiE 'https?://' "$report"; then
    echo "check-report: $report references the network:" >&2
    grep -oiE '.{0,40}https?://[^"'"'"' )]*' "$report" | head -5 >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url="file://$(realpath "$report")"
flags=(--headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions
       --user-data-dir="$work/profile" --virtual-time-budget=5000
       --enable-logging=stderr --v=0 --log-level=0)
# Any attempt to reach the network fails loudly instead of silently loading.
flags+=(--host-resolver-rules="MAP * ~NOTFOUND")

"$browser" "${flags[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/dom.log" || {
    echo "check-report: chromium failed to load $report" >&2; tail -20 "$work/dom.log" >&2; exit 1; }
"$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$(realpath -m "$shot")" "$url" \
    >/dev/null 2>"$work/shot.log" || { echo "check-report: screenshot failed" >&2; tail -20 "$work/shot.log" >&2; exit 1; }

# Console messages from the page appear as CONSOLE lines; errors and failed loads fail the check.
if grep -hE 'CONSOLE.*(ERROR|error)|Uncaught|Failed to load resource|net::ERR_' "$work/dom.log" "$work/shot.log" >"$work/errors" 2>/dev/null && [ -s "$work/errors" ]; then
    echo "check-report: console errors while rendering $report:" >&2
    cat "$work/errors" >&2
    exit 1
fi

svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
images=$(grep -o '<img' "$work/dom.html" | wc -l)
[ -s "$work/dom.html" ] && grep -q '</html>' "$work/dom.html" || { echo "check-report: empty DOM" >&2; exit 1; }
[ -s "$shot" ] || { echo "check-report: no screenshot written" >&2; exit 1; }
echo "check-report: $report rendered without console errors ($svgs charts, $images images); screenshot $shot"
