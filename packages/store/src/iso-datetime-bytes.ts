// zod's ISO datetime check (z.iso.datetime(), no offset, any precision) on bytes. Its regex is a
// date part of exactly ten characters (with the calendar's leap-year rules), `T`, and a time part
// with no calendar in it. Events of a stream share their date: the whole regex runs once per new
// date, and for a date already seen the time part is checked byte by byte, which is all the regex
// would add. Any other pattern (another zod, other options) is not recognised: the caller keeps
// the regex. iso-datetime-bytes.test.ts holds it to the regex.

const DATE =
  '(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))';
const TIME = 'T(?:(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z))';
/** The regex z.iso.datetime() tests with (zod 4), as its source. */
export const ZOD_ISO_DATETIME = `^${DATE}${TIME}$`;

const DATE_LENGTH = 10;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const upTo = (c: number, max: number): boolean => c >= 0x30 && c <= max;

/** `T` hh:mm:ss[.f+] `Z` at b[s, e): the regex's time part. */
function timePart(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < 10 || b[s] !== 0x54) return false;
  const h0 = b[s + 1]!;
  const h1 = b[s + 2]!;
  if (!(h0 === 0x32 ? upTo(h1, 0x33) : upTo(h0, 0x31) && isDigit(h1))) return false;
  if (b[s + 3] !== 0x3a || !upTo(b[s + 4]!, 0x35) || !isDigit(b[s + 5]!)) return false;
  if (b[s + 6] !== 0x3a || !upTo(b[s + 7]!, 0x35) || !isDigit(b[s + 8]!)) return false;
  let i = s + 9;
  if (b[i] === 0x2e) {
    const f0 = ++i;
    while (i < e && isDigit(b[i]!)) i++;
    if (i === f0) return false;
  }
  return i === e - 1 && b[i] === 0x5a;
}

/**
 * A byte test equal to `re.test(text)` for zod's datetime regex, or undefined for any other. The
 * test is only ever given ASCII-free-of-escapes text as bytes (the caller decodes it otherwise).
 */
export function isoDatetimeBytes(re: RegExp): ((b: Uint8Array, s: number, e: number) => boolean) | undefined {
  if (re.source !== ZOD_ISO_DATETIME || re.flags !== '') return undefined;
  const date = new Uint8Array(DATE_LENGTH);
  let known = false;
  return (b, s, e) => {
    if (e - s < DATE_LENGTH) return false;
    let same = known;
    for (let j = 0; same && j < DATE_LENGTH; j++) same = b[s + j] === date[j];
    if (same) return timePart(b, s + DATE_LENGTH, e);
    if (!re.test(Buffer.prototype.toString.call(b, 'latin1', s, e))) return false;
    date.set(b.subarray(s, s + DATE_LENGTH));
    known = true;
    return true;
  };
}
