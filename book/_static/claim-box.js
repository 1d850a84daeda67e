// The claim box's copy button: puts "ID@VERSION" on the clipboard. The text stays visible and
// selectable without JavaScript; the button only saves a step.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.claim-copy");
  if (!button) return;
  const text = button.dataset.copy;
  const done = (word) => {
    button.textContent = word;
    setTimeout(() => { button.textContent = "copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => done("copied"), () => done("select and copy"));
  } else {
    done("select and copy");
  }
});

// A link to a claim box inside a closed fold (a chapter's Evidence section) opens the folds around it
// first, so the browser lands on the box and not on a closed summary line. Equations and figures still
// change the page's height after it loads, so for a few seconds the box is kept in view as they settle,
// unless the reader scrolls first.
function openFoldsAround(hash) {
  if (!hash || hash.length < 2) return;
  const target = document.getElementById(decodeURIComponent(hash.slice(1)));
  if (!target || !target.closest("details")) return;
  for (let node = target.parentElement; node; node = node.parentElement) {
    if (node.tagName === "DETAILS" && !node.open) node.open = true;
  }
  keepInView(target);
}
function keepInView(target) {
  target.scrollIntoView();
  const until = Date.now() + 4000;
  const observer = new ResizeObserver(() => {
    if (Date.now() < until) target.scrollIntoView(); else observer.disconnect();
  });
  observer.observe(document.body);
  const stop = () => observer.disconnect();
  for (const kind of ["wheel", "touchstart", "keydown", "mousedown"]) {
    window.addEventListener(kind, stop, { once: true, passive: true });
  }
}
window.addEventListener("hashchange", () => openFoldsAround(location.hash));
document.addEventListener("DOMContentLoaded", () => openFoldsAround(location.hash));
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href*='#']");
  if (!link || link.origin !== location.origin || link.pathname !== location.pathname) return;
  if (link.hash === location.hash) openFoldsAround(link.hash);  // the same hash again fires no hashchange
});
