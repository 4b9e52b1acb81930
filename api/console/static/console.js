// 信访工作台: the few lines of script the pages use; every page works without them.
"use strict";
// Countdowns: each deadline's time left, kept current between page loads.
// In the page's language (<html lang>), worded as the server words them (api/console/view.py).
function span(ms) {
  const s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (document.documentElement.lang === "en") {
    const en = d ? d + " d " + h + " h" : h ? h + " h " + m + " min" : m ? m + " min" : s + " s";
    return ms <= 0 ? "overdue by " + en : en + " left";
  }
  const text = d ? d + "天" + h + "小时" : h ? h + "小时" + m + "分" : m ? m + "分钟" : s + "秒";
  return ms <= 0 ? "已超期" + text : "剩余" + text;
}
function tick() {
  document.querySelectorAll("[data-due]").forEach(function (el) {
    const ms = new Date(el.dataset.due).getTime() - Date.now();
    const left = el.querySelector(".left");
    if (left) left.textContent = span(ms);
    el.classList.toggle("overdue", ms <= 0);
    el.classList.toggle("soon", ms > 0 && ms <= 86400000);
  });
}
// The repeat check (重复件) as the form is filled, before it is submitted.
function repeatCheck() {
  const box = document.getElementById("repeat-check");
  if (!box) return;
  const ask = function () {
    const q = new URLSearchParams({
      phone: document.getElementById("petitioner_phone").value.trim(),
      category: document.getElementById("category").value,
      id_number: document.getElementById("petitioner_id_number").value.trim(),
    });
    fetch(box.dataset.url + "?" + q, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {});
  };
  document.querySelectorAll("[data-repeat]").forEach(function (el) { el.addEventListener("change", ask); });
  if (document.getElementById("petitioner_phone").value) ask();
}
// The 督查 board refreshes itself.
function refreshBoard() {
  const box = document.querySelector("[data-refresh]");
  if (!box) return;
  setInterval(function () {
    fetch(box.dataset.refresh, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {});
  }, 1000 * Number(box.dataset.every || 30));
}
document.addEventListener("DOMContentLoaded", function () {
  tick(); setInterval(tick, 30000); repeatCheck(); refreshBoard();
});
