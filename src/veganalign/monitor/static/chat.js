// The chat and red-team pages: the conversation lives in this tab only; each turn goes to /v1/chat/completions,
// where the server puts its policy first and checks the answer. Text is shown with textContent (never as HTML).
// On the red-team page the transcript so far also goes into the session form's hidden #transcript field.
(function () {
  const form = document.getElementById("chat");
  const log = document.getElementById("log");
  const box = document.getElementById("message");
  const error = document.getElementById("error");
  const keyInput = document.getElementById("key");
  const transcript = document.getElementById("transcript");
  // a red-team page sent back after a refused save carries the conversation so far
  const history = transcript ? JSON.parse(transcript.value || "[]") : [];
  if (keyInput) keyInput.value = sessionStorage.getItem("veganalign-key") || "";

  function show(role, text) {
    const turn = document.createElement("div");
    turn.className = "turn " + role;
    const who = document.createElement("span");
    who.className = "role";
    who.textContent = role;
    const body = document.createElement("pre");
    body.textContent = text;
    turn.append(who, body);
    log.append(turn);
    return turn;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    error.textContent = "";
    history.push({ role: "user", content: text });
    show("user", text);
    box.value = "";
    const button = document.getElementById("send");
    button.disabled = true;
    const headers = { "Content-Type": "application/json" };
    if (keyInput) {
      sessionStorage.setItem("veganalign-key", keyInput.value);
      headers["Authorization"] = "Bearer " + keyInput.value;
    }
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST",
        headers,
        body: JSON.stringify({ model: form.dataset.model, messages: history }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
      const answer = body.choices[0].message.content;
      history.push({ role: "assistant", content: answer });
      show("assistant", answer).id = "answer-" + history.length;
      if (transcript) transcript.value = JSON.stringify(history);
    } catch (err) {
      history.pop();
      error.textContent = "Not sent: " + err.message;
    } finally {
      button.disabled = false;
    }
  });
})();
