// Tic-tac-toe against the DQN over /ws/tictactoe/. The server is authoritative: this page sends
// the player's intents and draws each state it receives. It reconnects after a drop and resumes
// the game whose id it keeps in localStorage.
(function () {
  "use strict";

  var root = document.querySelector("[data-ttt]");
  if (!root) return;
  var STORAGE_KEY = "deepboot.tictactoe.game";
  var cells = Array.prototype.slice.call(root.querySelectorAll("[data-cell]"));
  var statusEl = root.querySelector("[data-status]");
  var messageEl = root.querySelector("[data-message]");
  var connectionEl = root.querySelector("[data-connection]");
  var STATUS_TEXT = { playing: gettext("Playing"), human_won: gettext("You won"), ai_won: gettext("The AI won"), draw: gettext("Draw") };

  var socket = null;
  var state = null;
  var retries = 0;
  var seenPlaying = {}; // games this page saw in play: their end counts towards the score
  var counted = {};

  function storedGame() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }
  function storeGame(id) {
    try {
      if (id) window.localStorage.setItem(STORAGE_KEY, id);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (e) { /* storage disabled: resuming after a reload will not work, playing does */ }
  }

  function say(text) { messageEl.textContent = text; }

  function showConnection(text) {
    connectionEl.textContent = text;
    connectionEl.hidden = !text;
  }

  var pending = []; // what the player asked for while the connection was (re)opening

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      pending.push(message);
      if (pending.length > 5) pending.shift();
      say("Connecting… your request will be sent as soon as the connection is open.");
      return;
    }
    socket.send(JSON.stringify(message));
  }

  // The value of a move for the human, from the AI's point of view: about -1 a move that loses
  // against its best play, about 0 a draw, about +1 a win.
  function verdict(q) {
    if (q === null || q === undefined) return null;
    return q < -0.25 ? "lose" : q > 0.25 ? "win" : "draw";
  }

  function heat(q) {
    // Red for a losing move, neutral for a draw, green for a win; deeper with the size of the value.
    var v = verdict(q);
    if (v === "lose") return "hsl(5, 80%, " + (88 - 20 * Math.min(-q, 1)).toFixed(0) + "%)";
    if (v === "win") return "hsl(140, 55%, " + (88 - 28 * Math.min(q, 1)).toFixed(0) + "%)";
    return "";
  }

  function render() {
    var board = state.board;
    var line = state.winning_line || [];
    var myTurn = state.status === "playing" && state.turn === "human";
    cells.forEach(function (el, i) {
      var mark = board[i] === "." ? "" : board[i];
      var q = state.q_values ? state.q_values[i] : null;
      el.querySelector(".ttt-mark").textContent = mark;
      el.querySelector(".ttt-q").textContent = q === null || q === undefined ? "" : q.toFixed(2);
      el.style.backgroundColor = q === null || q === undefined ? "" : heat(q);
      if (verdict(q)) el.setAttribute("data-value", verdict(q)); else el.removeAttribute("data-value");
      el.classList.toggle("x", mark === "X");
      el.classList.toggle("o", mark === "O");
      el.classList.toggle("win", line.indexOf(i) !== -1);
      el.classList.toggle("last", state.ai_move === i);
      el.setAttribute("aria-disabled", mark || !myTurn ? "true" : "false");
      var label = interpolate(gettext("Cell %(cell)s: %(mark)s"), { cell: i, mark: mark || gettext("empty") }, true);
      if (q !== null && q !== undefined) {
        label += interpolate(gettext(", the AI's value of this move for you %(value)s"), { value: q.toFixed(2) }, true);
      }
      if (line.indexOf(i) !== -1) label += gettext(", winning line");
      el.setAttribute("aria-label", label);
    });
    statusEl.setAttribute("data-status", state.status);
    statusEl.textContent = STATUS_TEXT[state.status] || state.status;
    if (state.status === "playing") {
      say(state.turn === "human" ? interpolate(gettext("Your turn: you are %(mark)s."), { mark: state.you }, true) : gettext("Waiting for the AI…"));
    } else if (state.status === "human_won") {
      say(gettext("You won! New game?"));
    } else if (state.status === "ai_won") {
      say(gettext("The AI won. New game?"));
    } else {
      say(gettext("A draw. New game?"));
    }
  }

  function updateScore() {
    var id = state.game;
    if (state.status === "playing") { seenPlaying[id] = true; return; }
    if (!seenPlaying[id] || counted[id]) return;
    counted[id] = true;
    var el = root.querySelector("[data-score-" + state.status + "]");
    if (el) el.textContent = String(parseInt(el.textContent, 10) + 1);
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type === "state") {
      state = message;
      storeGame(state.game);
      updateScore();
      render();
    } else if (message.type === "error") {
      if (message.code === "not_found" || message.code === "forbidden") {
        storeGame(null);
        say(gettext("That game cannot be resumed here. Start a new one."));
      } else {
        say(message.message);
      }
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/tictactoe/");
    socket.addEventListener("open", function () {
      retries = 0;
      showConnection("");
      var saved = storedGame();
      if (saved) send({ type: "resume", game: saved });
      var queued = pending;
      pending = [];
      queued.forEach(send);
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function () {
      socket = null;
      var delay = Math.min(500 * Math.pow(2, retries), 8000);
      retries += 1;
      showConnection(interpolate(gettext("Connection lost. Reconnecting in %(seconds)s s… your game is saved."), { seconds: Math.round(delay / 1000) }, true));
      window.setTimeout(connect, delay);
    });
  }

  root.querySelector("[data-action=new-human-first]").addEventListener("click", function () {
    send({ type: "new", first: "human" });
  });
  root.querySelector("[data-action=new-ai-first]").addEventListener("click", function () {
    send({ type: "new", first: "ai" });
  });
  cells.forEach(function (el, i) {
    el.addEventListener("click", function () {
      if (!state) { say(gettext("Start a game first.")); return; }
      send({ type: "move", cell: i });
    });
    el.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -3, ArrowDown: 3 };
      if (!(event.key in moves)) return;
      var next = i + moves[event.key];
      if (event.key === "ArrowLeft" && i % 3 === 0) return;
      if (event.key === "ArrowRight" && i % 3 === 2) return;
      if (next < 0 || next > 8) return;
      event.preventDefault();
      cells[next].focus();
    });
  });

  connect();
})();
