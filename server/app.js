// Lists the samples and opens the chosen one in OpenSeadragon through its IIIF info.json.
(function () {
  const list = document.getElementById('samples');
  const status = document.getElementById('status');
  const base = window.location.origin;
  let viewer = null;

  function open(sample, button) {
    document.querySelectorAll('nav button').forEach((b) => b.classList.remove('active'));
    button.classList.add('active');
    const info = `${base}/${sample.id}/info.json`;
    status.textContent = `Loading ${info}`;
    if (viewer) viewer.destroy();
    viewer = OpenSeadragon({
      id: 'viewer',
      prefixUrl: 'vendor/openseadragon/images/',
      tileSources: [info],
      showNavigator: true,
    });
    viewer.addHandler('open', () => {
      const item = viewer.world.getItemAt(0);
      const size = item ? item.getContentSize() : null;
      status.textContent = size ? `${sample.id}: ${size.x} × ${size.y} px, ${sample.note}` : sample.id;
    });
    viewer.addHandler('open-failed', (e) => { status.textContent = `Could not open ${info}: ${e.message}`; });
  }

  fetch('samples.json')
    .then((r) => r.json())
    .then((samples) => {
      samples.forEach((s, i) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.innerHTML = `<strong>${s.title}</strong><small>${s.id}</small><small>${s.note}</small>`;
        b.addEventListener('click', () => open(s, b));
        li.appendChild(b);
        list.appendChild(li);
        if (i === (parseInt(new URLSearchParams(location.search).get("i"), 10) || 0)) open(s, b);
      });
    })
    .catch((e) => { status.textContent = `Cannot list samples: ${e}`; });
})();
