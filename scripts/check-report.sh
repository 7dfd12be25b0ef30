#!/usr/bin/env bash
# Renders a dimr-eval report in a real headless browser (Debian's chromium) and fails if the page
# logs console errors (console.error, uncaught errors, a resource that fails to load or decode),
# reaches for the network, or does not render. `.ci/run` also checks that it fails on such pages.
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
# The DOM is read from a copy beside the report (relative references resolve as in the original)
# with a probe first in <head>: it records console.error calls, uncaught errors and resources that
# fail to load or decode (a broken embedded PNG too) in an attribute of <html>, which the dumped
# DOM then shows. Chromium's log alone does not tell console.error from console.log.
probe="$(dirname "$(realpath "$report")")/.check-report-probe.$$.html"
trap 'rm -rf "$work" "$probe"' EXIT
hook='<script>(function(){var seen=[];function note(m){seen.push(String(m));document.documentElement.setAttribute("data-check-report-errors",JSON.stringify(seen));}
var error=console.error;console.error=function(){note("console.error: "+Array.prototype.join.call(arguments," "));return error.apply(console,arguments);};
addEventListener("error",function(e){var t=e.target;note(t&&t!==window&&(t.src||t.href)!==undefined?"failed to load "+String(t.src||t.href).slice(0,80):"uncaught: "+e.message);},true);
addEventListener("unhandledrejection",function(e){note("unhandled rejection: "+e.reason);});})();</script>'
if grep -qi '<head[^>]*>' "$report"; then
    HOOK=$hook awk '!done && match(tolower($0), /<head[^>]*>/) {
        $0 = substr($0, 1, RSTART + RLENGTH - 1) ENVIRON["HOOK"] substr($0, RSTART + RLENGTH); done = 1 } { print }' \
        "$report" >"$probe"
else
    { printf '%s\n' "$hook"; cat "$report"; } >"$probe"
fi
url="file://$(realpath "$report")"
flags=(--headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions
       --user-data-dir="$work/profile" --virtual-time-budget=5000
       --enable-logging=stderr --v=0 --log-level=0)
# Any attempt to reach the network fails loudly instead of silently loading.
flags+=(--host-resolver-rules="MAP * ~NOTFOUND")

"$browser" "${flags[@]}" --dump-dom "file://$probe" >"$work/dom.html" 2>"$work/dom.log" || {
    echo "check-report: chromium failed to load $report" >&2; tail -20 "$work/dom.log" >&2; exit 1; }
"$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$(realpath -m "$shot")" "$url" \
    >/dev/null 2>"$work/shot.log" || { echo "check-report: screenshot failed" >&2; tail -20 "$work/shot.log" >&2; exit 1; }

# What the probe saw, and what Chromium logged (uncaught errors, failed loads) in either run.
recorded=$(grep -o 'data-check-report-errors="[^"]*"' "$work/dom.html" || true)
logged=$(grep -hE ':ERROR:CONSOLE|Uncaught|Failed to load resource|net::ERR_' "$work/dom.log" "$work/shot.log" || true)
if [ -n "$recorded" ] || [ -n "$logged" ]; then
    echo "check-report: errors while rendering $report:" >&2
    [ -z "$recorded" ] || printf '%s\n' "$recorded" | sed 's/&quot;/"/g' >&2
    [ -z "$logged" ] || printf '%s\n' "$logged" >&2
    exit 1
fi

svgs=$({ grep -o '<svg' "$work/dom.html" || true; } | wc -l)
images=$({ grep -o '<img' "$work/dom.html" || true; } | wc -l)
[ -s "$work/dom.html" ] && grep -q '</html>' "$work/dom.html" || { echo "check-report: empty DOM" >&2; exit 1; }
[ -s "$shot" ] || { echo "check-report: no screenshot written" >&2; exit 1; }
echo "check-report: $report rendered without console errors ($svgs charts, $images images); screenshot $shot"
