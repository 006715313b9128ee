// Which function a request is for: /function/NAME[/rest], /lambda/NAME[/rest] (the original
// faass's path) or any path with the header X-Function: NAME.
export interface Route {
  name: string;
  path: string; // path passed to the function, with the query
}

export function parseRoute(url: string, xFunction: string | string[] | undefined): Route | null {
  const header = Array.isArray(xFunction) ? xFunction[0] : xFunction;
  const q = url.indexOf('?');
  const pathname = q >= 0 ? url.slice(0, q) : url;
  const query = q >= 0 ? url.slice(q) : '';
  const m = /^\/(?:function|lambda)\/([^/]*)(\/.*)?$/.exec(pathname);
  if (m) return { name: decodeSegment(m[1]), path: (m[2] || '/') + query };
  if (header !== undefined) return { name: header.trim(), path: url || '/' };
  return null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
