// Drives the live page in Debian's chromium (Playwright): load it, send a
// prompt, wait for the exchange to finish, read the DOM, take a screenshot.
//
// usage: node drive_page.mjs URL PROMPT SCREENSHOT [CHROMIUM] [PIXEL_RATIO]
// prints one JSON object describing what the page shows
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, prompt, screenshot, executablePath = "/usr/bin/chromium", ratio = "1"] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "streamparse-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1360, height: 800 },
  deviceScaleFactor: Number(ratio),
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const consoleErrors = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(url);
  // What the page shows while it streams: each field's successive values and
  // each card's successive states, recorded at every DOM change.
  await page.evaluate(() => {
    window.seen = { fields: {}, cards: {} };
    const note = (map, key, value) => {
      const list = (map[key] ??= []);
      if (list[list.length - 1] !== value) list.push(value);
    };
    new MutationObserver(() => {
      for (const card of document.querySelectorAll(".tool")) {
        note(window.seen.cards, card.dataset.name, card.dataset.state);
        for (const f of card.querySelectorAll(".field")) {
          note(window.seen.fields, `${card.dataset.name}.${f.dataset.path}`, `${f.dataset.done}:${f.querySelector("dd").textContent}`);
        }
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.fill("#prompt", prompt);
  await page.click("#send");
  await page.waitForSelector('.exchange:not([data-state="streaming"])', { timeout: 20000 });
  await page.waitForTimeout(300); // the last animations settle for the screenshot
  const dom = await page.evaluate(() => {
    const ex = document.querySelector(".exchange");
    const text = (node) => (node ? node.textContent : null);
    return {
      state: ex.dataset.state,
      you: text(ex.querySelector(".you p")),
      reasoning: [...ex.querySelectorAll(".reasoning .body")].map(text),
      reasoningLabels: [...ex.querySelectorAll(".reasoning summary")].map(text),
      texts: [...ex.querySelectorAll(".text")].map(text),
      answer: text(ex.querySelector(".text.final")),
      tools: [...ex.querySelectorAll(".tool")].map((card) => ({
        name: card.dataset.name,
        state: card.dataset.state,
        status: text(card.querySelector(".status")),
        fields: [...card.querySelectorAll(".field")].map((f) => ({
          path: f.dataset.path,
          value: text(f.querySelector("dd")),
          kind: f.querySelector("dd").className,
          done: f.dataset.done,
        })),
        result: text(card.querySelector(".result")),
        raw: text(card.querySelector(".raw")),
      })),
      errors: [...ex.querySelectorAll(".error")].map(text),
      stats: text(ex.querySelector(".timeline .stats")),
      lanes: [...ex.querySelectorAll(".lanes .name")].map(text),
      wireTypes: [...document.querySelectorAll("#events .ty")].map(text),
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  const seen = await page.evaluate(() => window.seen);
  process.stdout.write(JSON.stringify({ seen, consoleErrors, ...dom }) + "\n");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
