// The dashboard talks to the plugin's own API.
async function refreshStatus() {
    const response = await fetch("/api/v1/awesome/status");
    const status = await response.json();
    document.getElementById("status").textContent = JSON.stringify(status, null, 2);
}

async function performAction() {
    await fetch("/api/v1/awesome/action", { method: "POST" });
    await refreshStatus();
}

refreshStatus();
