// Sends a changed folder as the selected generation's next revision: the
// files whose content differs from the generation's, and the removal of
// those the folder no longer has, as PATCH …/files.

import { skipped, relativePaths, encode } from './upload.js';
import { gen } from './api.js';

async function sha256(file) {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// folderChanges compares a chosen folder with the generation's files
// ([{path, sha256}]) and returns the PATCH body: {files, delete}.
export async function folderChanges(fileList, current) {
  const all = Array.from(fileList);
  const { paths } = relativePaths(all);
  const have = new Map(current.map((f) => [f.path, f.sha256]));
  const files = [];
  const seen = new Set();
  for (let i = 0; i < all.length; i++) {
    if (skipped(paths[i])) continue;
    seen.add(paths[i]);
    if (have.get(paths[i]) !== await sha256(all[i])) files.push(await encode(all[i], paths[i]));
  }
  const remove = current.map((f) => f.path).filter((p) => !seen.has(p));
  return { files, delete: remove };
}

// sendFolder patches generation id with what changed in the folder and
// returns a sentence saying what came of it. A change that failed to start
// throws previewd's error (launch_failed), as any other call does.
export async function sendFolder(api, id, fileList) {
  const { data: g } = await api.get(gen(id));
  const body = await folderChanges(fileList, g.files || []);
  if (!body.files.length && !body.delete.length) return 'Nothing changed: the folder holds the files of the current revision.';
  const { data: r } = await api.call('PATCH', gen(id, '/files'), { json: body });
  const n = body.files.length + body.delete.length;
  const what = `${n} file${n === 1 ? '' : 's'} changed`;
  if (r.reload === 'in_place' || r.reload === 'new_container') {
    return `Revision ${r.revision} live in ${r.timings_ms.total} ms (${what}).`;
  }
  return `Revision ${r.revision} stored (${what}); the next launch runs it.`;
}
