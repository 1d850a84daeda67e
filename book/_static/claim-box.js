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
