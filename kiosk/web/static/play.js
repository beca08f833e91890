// The phone page: send a prompt, follow this device's jobs and the top 10 live.
// Plain JavaScript, no framework; every text comes from the server in the page's language.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const lang = document.body.dataset.lang;
  let nickname = document.body.dataset.nickname;
  let job = null;        // the job this page follows (its latest prompt)
  let lastPrompt = null; // sent again after a passed check
  const latest = new Map(); // job -> its latest event (one may come before the POST's answer)

  function show(el, on) { el.hidden = !on; }
  function say(el, text) { el.textContent = text || ""; show(el, !!text); }

  function seated(nick) {
    nickname = nick || "";
    const p = $("playing-as");
    p.textContent = p.dataset.template.replace("{nick}", nickname);
    show(p, !!nickname); show($("leave"), !!nickname); show($("who"), !nickname);
    $("nickname").value = nickname;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { status: response.status, data: data };
  }

  async function send(prompt) {
    const body = { prompt: prompt };
    if (!nickname) {
      body.nickname = $("nickname").value;
      if ($("code").value) body.code = $("code").value;
    }
    lastPrompt = prompt;
    say($("refused"), ""); show($("check"), false);
    $("draw").disabled = true;
    try {
      const r = await post("/api/prompt", body);
      if (r.status === 202 || r.status === 200) {
        seated(r.data.nickname);
        $("code").value = "";
        $("prompt").value = "";
        if (r.data.code_note) say($("code-note"), r.data.code_note);
        if (r.status === 202) {
          job = r.data.job;
          const seen = latest.get(job);
          if (seen && seen.event === "done") done(seen);
          else status(seen ? seen.text : (r.data.note || r.data.text));
        }
        else { job = null; done(r.data); }
      } else {
        $("prompt").value = prompt;
        // a check says what to tap in its own words (the booth's say "press the number")
        if (r.data.challenge) ask(r.data.challenge);
        else say($("refused"), r.data.reason || String(r.status));
      }
    } catch (e) {
      show($("offline"), true);
    } finally {
      $("draw").disabled = false;
    }
  }

  function ask(challenge) {
    $("check-question").textContent = challenge.question;
    const choices = $("check-choices");
    choices.replaceChildren();
    challenge.choices.forEach((src, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.answer = String(i + 1);
      const img = document.createElement("img");
      img.src = src; img.alt = String(i + 1);
      button.appendChild(img);
      button.addEventListener("click", () => answer(challenge.id, String(i + 1)));
      choices.appendChild(button);
    });
    show($("check-wrong"), false);
    show($("check"), true);
  }

  async function answer(id, n) {
    const r = await post("/api/check", { challenge: id, answer: n, nickname: nickname || $("nickname").value });
    show($("check-wrong"), !r.data.passed);
    show($("check"), false);
    if (lastPrompt) send(lastPrompt);
  }

  function status(text) { $("status").textContent = text || ""; }

  function done(d) {
    status(d.text);
    $("drawing").src = d.image;
    $("score").textContent = d.score;
    $("rank").textContent = d.rank;
    $("best").textContent = d.best;
    const notes = $("notes");
    notes.replaceChildren();
    (d.notes || []).forEach((n) => { const li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
    $("save").href = d.image + "?download=1";
    show($("save"), !d.held);
    show($("done"), true);
  }

  async function board() {
    try {
      const response = await fetch("/api/board", { credentials: "same-origin" });
      showBoard((await response.json()).board || []);
    } catch (e) { /* the next change tries again */ }
  }

  function showBoard(rows) {
    const body = $("board").querySelector("tbody");
    body.replaceChildren();
    rows.forEach((r) => {
      const tr = document.createElement("tr");
      [String(r.rank), r.nickname, r.score].forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 1) { td.className = "name"; td.title = r.prompt; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    show($("board-empty"), rows.length === 0);
  }

  function listen() {
    const source = new EventSource("/api/events?lang=" + encodeURIComponent(lang));
    const on = (name, fn) => source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    source.onopen = () => show($("offline"), false);
    source.onerror = () => show($("offline"), true);
    on("hello", () => board());
    const mine = (d) => { if (d.job !== null) latest.set(d.job, d); return d.job === job; };
    on("queued", (d) => { if (mine(d)) status(d.text); });
    on("started", (d) => { if (mine(d)) status(d.text); });
    on("progress", (d) => {
      (d.jobs || []).forEach((j) => latest.set(j, { event: "progress", job: j, text: d.text }));
      if ((d.jobs || []).includes(job)) status(d.text);
    });
    on("failed", (d) => { if (mine(d)) status(d.text); });
    on("done", (d) => { if (mine(d)) done(d); });
    on("board", (d) => showBoard(d.board || []));  // the rows come with the event
    on("target", () => {
      $("target").src = "/target?t=" + Date.now();
      board();
    });
  }

  $("form").addEventListener("submit", (e) => { e.preventDefault(); send($("prompt").value); });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send($("prompt").value); }
  });
  $("leave").addEventListener("click", async () => { await post("/api/leave"); seated(""); });
  listen();
  board();
})();
