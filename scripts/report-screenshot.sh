#!/usr/bin/env bash
# Regenerates docs/report-main-job.png (shown in README): runs the main job on the lab (scripts/main.sh: lab up if
# needed, deploy), renders the newest deploy's HTML report and screenshots it in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/main.sh >/dev/null
id=$(node bin/haplay.js runs --json | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const r=s.trim().split("\n").map((l)=>JSON.parse(l)).find((x)=>x.command==="deploy");if(!r)process.exit(1);console.log(r.id)})')
node bin/haplay.js report "$id" -o docs/report-main-job.html
node --input-type=module -e '
  import puppeteer from "puppeteer-core";
  const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.goto(`file://${process.cwd()}/docs/report-main-job.html`, { waitUntil: "load" });
  await page.screenshot({ path: "docs/report-main-job.png" });
  await browser.close();
'
rm -f docs/report-main-job.html
echo "docs/report-main-job.png written from run $id"
