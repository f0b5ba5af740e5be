fetch("/api/forecast").then((r) => r.json()).then(console.log);
