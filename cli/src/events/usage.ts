// The option text `tail --help` and `events --help` print, kept beside the parser it describes.
export const FILTER_USAGE = [
  'filters (repeat a flag to OR its values; different flags AND; --not negates the flag after it):',
  '  --project P  --agent A  --node N  --container ID-PREFIX|NAME',
  '  --verdict ALLOWED|DENIED|BYPASSED  --reason R  --rule ID',
  '  --host GLOB (dst name or IP; * within a label, ** any depth)  --port N|LO-HI  --proto tcp|udp|…',
  '  --since 15m|1h30m|ISO  --until 5m|ISO      e.g. --verdict denied --not --agent ci --host "**.npmjs.org"',
  'output: -o table|json|compact (--json = -o json)  --wide (table: no truncation)  --limit N',
].join('\n');
