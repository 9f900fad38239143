// KeyboardEvent → X keysym (the `input` channel's key unit; see
// /usr/include/X11/keysymdef.h). Printable characters map to their Latin-1
// keysym or to the Unicode keysym 0x01000000 + code point; named keys to the
// table below. null: a key we do not send (dead keys, IME composition).

const NAMED = {
  Backspace: 0xff08, Tab: 0xff09, Enter: 0xff0d, Escape: 0xff1b, Delete: 0xffff,
  Home: 0xff50, ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54,
  PageUp: 0xff55, PageDown: 0xff56, End: 0xff57, Insert: 0xff63, Pause: 0xff13,
  ScrollLock: 0xff14, PrintScreen: 0xff61, ContextMenu: 0xff67, NumLock: 0xff7f, CapsLock: 0xffe5,
};
// Modifiers by physical side (KeyboardEvent.code).
const MODIFIERS = {
  ShiftLeft: 0xffe1, ShiftRight: 0xffe2, ControlLeft: 0xffe3, ControlRight: 0xffe4,
  MetaLeft: 0xffeb, MetaRight: 0xffec, AltLeft: 0xffe9, AltRight: 0xfe03, // AltGr is ISO_Level3_Shift
};
const F1 = 0xffbe;

export function keysymOf(ev) {
  if (ev.isComposing) return null;
  if (MODIFIERS[ev.code] !== undefined) return MODIFIERS[ev.code];
  if (NAMED[ev.key] !== undefined) return NAMED[ev.key];
  const f = /^F([1-9]|1[0-9]|2[0-4])$/.exec(ev.key);
  if (f) return F1 + Number(f[1]) - 1;
  const chars = [...ev.key];
  if (chars.length !== 1) return null; // "Dead", "Unidentified", ...
  const cp = chars[0].codePointAt(0);
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}
