/** Can XML 1.0 carry this character at all? (Most control characters it cannot.) */
const allowed = (c: string) => {
  const n = c.codePointAt(0) ?? 0;
  return n === 9 || n === 10 || n === 13 || (n >= 0x20 && n !== 0xfffe && n !== 0xffff);
};

/** Text for XML or HTML element content: markup characters escaped, impossible characters dropped. */
export function xmlText(s: string): string {
  return [...s].filter(allowed).join('').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for a double-quoted XML or HTML attribute value. */
export function xmlAttr(s: string): string {
  return xmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}
