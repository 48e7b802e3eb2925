// The chat page: the conversation lives in this tab only; each turn goes to /v1/chat/completions,
// where the server puts its policy first and checks the answer. Text is shown with textContent (never as HTML).
(function () {
  const form = document.getElementById("chat");
  const log = document.getElementById("log");
  const box = document.getElementById("message");
  const error = document.getElementById("error");
  const keyInput = document.getElementById("key");
  const history = [];
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
    } catch (err) {
      history.pop();
      error.textContent = "Not sent: " + err.message;
    } finally {
      button.disabled = false;
    }
  });
})();
