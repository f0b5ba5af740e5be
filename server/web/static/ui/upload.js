// Uploads a generation: a chosen folder becomes the JSON body of
// POST /api/v1/generations, an archive is sent as it is.

import { $, show, formatBytes } from './dom.js';

// Folders that hold installed or generated things, never the app's source;
// uploading them would only hit the file and size limits.
const skippedDirs = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', '.mypy_cache', '.pytest_cache', '__MACOSX']);

export function skipped(path) {
  const parts = path.split('/');
  const base = parts[parts.length - 1];
  return base === '.DS_Store' || base.startsWith('._') || parts.slice(0, -1).some((p) => skippedDirs.has(p));
}

// relativePaths returns each file's path inside the chosen folder: the
// browser names them folder/sub/file, and the folder itself is not part of
// the app.
export function relativePaths(files) {
  const paths = files.map((f) => (f.webkitRelativePath || f.name).replace(/^\/+/, ''));
  const first = paths.map((p) => p.split('/')[0]);
  const oneRoot = paths.every((p, i) => p.includes('/') && first[i] === first[0]);
  return { paths: oneRoot ? paths.map((p) => p.slice(first[0].length + 1)) : paths, root: oneRoot ? first[0] : '' };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function base64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

// encode reads one file: text stays text, anything else (not UTF-8, or
// holding a NUL byte) goes as base64.
export async function encode(file, path) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!bytes.includes(0)) {
    try {
      return { path, content: utf8.decode(bytes) };
    } catch { /* not UTF-8: base64 below */ }
  }
  return { path, content: base64(bytes), encoding: 'base64' };
}

// folderBody builds the JSON upload of a chosen folder. It returns the body,
// the folder's name and how many files were left out.
export async function folderBody(fileList, name, framework) {
  const all = Array.from(fileList);
  const { paths, root } = relativePaths(all);
  const files = [];
  let left = 0;
  for (let i = 0; i < all.length; i++) {
    if (skipped(paths[i])) { left++; continue; }
    files.push(await encode(all[i], paths[i]));
  }
  return { body: { name: name || root || 'untitled', framework, files }, root, skipped: left };
}

// archiveType is the Content-Type previewd expects for an archive's name, or
// '' for a name it does not recognise.
export function archiveType(filename) {
  const n = filename.toLowerCase();
  if (n.endsWith('.zip')) return 'application/zip';
  if (n.endsWith('.tar.gz') || n.endsWith('.tgz')) return 'application/gzip';
  if (n.endsWith('.tar')) return 'application/x-tar';
  return '';
}

// archiveName is an archive's name without its extension.
export function archiveName(filename) {
  return filename.replace(/\.(zip|tar\.gz|tgz|tar)$/i, '');
}

// describeFolder says what a chosen folder's upload will hold.
export function describeFolder(fileList) {
  const all = Array.from(fileList);
  const { paths, root } = relativePaths(all);
  const kept = paths.filter((p) => !skipped(p)).length;
  const left = all.length - kept;
  const bytes = all.reduce((n, f, i) => n + (skipped(paths[i]) ? 0 : f.size), 0);
  return { root, kept, left, bytes };
}

// UploadPanel is the upload form: pick a folder or an archive, then upload
// it; onUploaded(generation) runs after a successful upload.
export class UploadPanel {
  constructor(api, onUploaded) {
    this.api = api;
    this.onUploaded = onUploaded;
    this.picked = null; // {kind: 'folder', files} or {kind: 'archive', file}
    $('upload-folder').addEventListener('change', (ev) => this.pickFolder(ev.target.files));
    $('upload-archive').addEventListener('change', (ev) => this.pickArchive(ev.target.files[0]));
    $('upload-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.upload();
    });
  }

  pickFolder(files) {
    if (!files || !files.length) return;
    $('upload-archive').value = '';
    const d = describeFolder(files);
    this.picked = { kind: 'folder', files };
    $('upload-picked').textContent = `Folder “${d.root || 'chosen files'}”: ${d.kept} file${d.kept === 1 ? '' : 's'}, ${formatBytes(d.bytes)}${d.left ? ` (${d.left} in .git, node_modules and the like left out)` : ''}.`;
    if (!$('upload-name').value) $('upload-name').placeholder = d.root || 'untitled';
    $('upload-submit').disabled = d.kept === 0;
    show($('upload-message'), '');
  }

  pickArchive(file) {
    if (!file) return;
    $('upload-folder').value = '';
    if (!archiveType(file.name)) {
      this.picked = null;
      $('upload-submit').disabled = true;
      show($('upload-message'), `“${file.name}” is not a .zip, .tar or .tar.gz archive.`, 'error');
      return;
    }
    this.picked = { kind: 'archive', file };
    $('upload-picked').textContent = `Archive “${file.name}”, ${formatBytes(file.size)}.`;
    if (!$('upload-name').value) $('upload-name').placeholder = archiveName(file.name);
    $('upload-submit').disabled = false;
    show($('upload-message'), '');
  }

  async upload() {
    const picked = this.picked;
    if (!picked) return;
    const msg = $('upload-message');
    const button = $('upload-submit');
    const framework = $('upload-framework').value;
    button.disabled = true;
    show(msg, 'Uploading…');
    try {
      let res;
      if (picked.kind === 'folder') {
        const { body } = await folderBody(picked.files, $('upload-name').value.trim(), framework);
        res = await this.api.post('/api/v1/generations', { json: body });
      } else {
        const name = $('upload-name').value.trim() || archiveName(picked.file.name);
        const q = new URLSearchParams({ name, framework });
        res = await this.api.post(`/api/v1/generations?${q}`, { body: picked.file, contentType: archiveType(picked.file.name) });
      }
      const g = res.data;
      show(msg, `Uploaded “${g.name}”: ${g.file_count} file${g.file_count === 1 ? '' : 's'}, ${g.framework} (${g.entrypoint}).`, 'ok');
      this.picked = null;
      $('upload-form').reset();
      $('upload-name').placeholder = 'from the upload';
      $('upload-picked').textContent = 'A folder, or a .zip, .tar or .tar.gz archive.';
      await this.onUploaded(g);
    } catch (e) {
      show(msg, e.message, 'error');
      button.disabled = false;
    }
  }
}
