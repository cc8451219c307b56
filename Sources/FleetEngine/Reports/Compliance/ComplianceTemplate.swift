/// The compliance page's Mustache template, compiled into the binary (no resource bundle to
/// lose when gwi-fleet is copied elsewhere). `{{x}}` escapes; nothing here uses `{{{x}}}`.
enum ComplianceTemplate {
    static let page = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
  @page { margin: 12mm; }
  * { box-sizing: border-box; }
  html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font: 10pt/1.35 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
  h1 { font-size: 16pt; margin: 0 0 2mm; }
  h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; break-after: avoid; }
  h3 { font-size: 10pt; margin: 3mm 0 1mm; }
  p { margin: 1mm 0; }
  .meta { color: #444; font-size: 8.5pt; }
  .verdict { font-weight: bold; font-size: 12pt; padding: 2mm 3mm; border-left: 4px solid; margin: 3mm 0; }
  .verdict.pass { border-color: #1a7f37; background: #e6f4ea; }
  .verdict.fail { border-color: #b42318; background: #fdecea; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: 1mm 1.5mm; border-bottom: 1px solid #ddd; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .figures th { width: 45%; font-weight: normal; color: #333; }
  .figures td { word-break: break-all; }
  .venues { font-size: 7.5pt; }
  .venues tr.not-compliant td:nth-child(2) { color: #b42318; font-weight: bold; }
  .venues tr.compliant td:nth-child(2) { color: #1a7f37; }
  .grid { font-size: 6pt; table-layout: fixed; width: auto; }
  .grid th { padding: 0.5mm; font-weight: normal; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .grid th.venue { width: 28mm; }
  .grid td, .grid thead th + th { width: 5mm; }
  .grid td { padding: 0; height: 4.2mm; text-align: center; border: 1px solid #fff; }
  .grid td.verified { background: #2e7d32; color: #fff; }
  .grid td.complete { background: #f2c94c; }
  .grid td.failed { background: #b42318; color: #fff; }
  .grid td.missing { background: #e0e0e0; color: #555; }
  .grid td.off { box-shadow: inset 0 -1.2mm 0 #1f4e9c; }
  .legend span { display: inline-block; padding: 0 2mm; margin-right: 2mm; border-radius: 1mm; font-size: 8pt; }
  .legend .verified { background: #2e7d32; color: #fff; }
  .legend .complete { background: #f2c94c; }
  .legend .failed { background: #b42318; color: #fff; }
  .legend .missing { background: #e0e0e0; }
  .legend .off { box-shadow: inset 0 -1.2mm 0 #1f4e9c; background: #f2c94c; }
  figure { margin: 2mm 0 4mm; break-inside: avoid; }
  figcaption { font-size: 9pt; color: #333; }
  svg { width: 100%; height: auto; display: block; }
  .details li { margin-bottom: 1mm; word-break: break-word; }
  footer { margin-top: 6mm; color: #666; font-size: 8pt; }
</style>
</head>
<body>
<header>
<h1>Backup compliance</h1>
<p class="meta">{{period}}</p>
<p class="meta">{{generated}}</p>
<p class="verdict {{verdictClass}}">{{verdict}}</p>
</header>

<h2>Fleet</h2>
<table class="figures">
<tbody>
{{#fleet}}<tr><th scope="row">{{name}}</th><td>{{value}}</td></tr>
{{/fleet}}
</tbody>
</table>

<h2>Policy checked</h2>
<table class="figures">
<tbody>
{{#policy}}<tr><th scope="row">{{name}}</th><td>{{value}}</td></tr>
{{/policy}}
</tbody>
</table>

<h2>Every venue, every day</h2>
<p class="legend"><span class="verified">V verified</span><span class="complete">C complete</span><span class="off">off-site</span><span class="failed">! failed</span><span class="missing">- missing</span></p>
<table class="grid">
<thead><tr><th class="venue" scope="col">venue</th>{{#days}}<th scope="col" title="{{title}}">{{label}}</th>{{/days}}</tr></thead>
<tbody>
{{#grid}}<tr><th class="venue" scope="row" title="{{slug}}">{{slug}}</th>{{#cells}}<td class="{{cls}}" title="{{title}}">{{mark}}</td>{{/cells}}</tr>
{{/grid}}
</tbody>
</table>

<h2>Venues, worst first</h2>
<table class="venues">
<thead><tr>{{#venueHeaders}}<th scope="col">{{.}}</th>{{/venueHeaders}}</tr></thead>
<tbody>
{{#venues}}<tr class="{{cls}}">{{#cells}}<td>{{.}}</td>{{/cells}}</tr>
{{/venues}}
</tbody>
</table>

<h2>Size and duration over time</h2>
{{#charts}}
<figure>
<figcaption>{{title}} (highest: {{maxLabel}})</figcaption>
<svg viewBox="0 0 700 160" width="700" height="160" role="img" aria-label="{{title}}">
<line x1="0" y1="140" x2="700" y2="140" stroke="#999"></line>
{{#bars}}<rect x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="#1f4e9c"><title>{{title}}</title></rect>
{{/bars}}
{{#empty}}<text x="350" y="80" text-anchor="middle" font-size="12" fill="#666">no backups in the period</text>{{/empty}}
<text x="0" y="155" font-size="10" fill="#444">{{first}}</text>
<text x="700" y="155" font-size="10" fill="#444" text-anchor="end">{{last}}</text>
</svg>
</figure>
{{/charts}}

{{#hasDetails}}
<h2>Details</h2>
<div class="details">
{{#details}}
<h3>{{slug}} ({{verdict}})</h3>
<ul>
{{#lines}}<li>{{.}}</li>
{{/lines}}
</ul>
{{/details}}
</div>
{{/hasDetails}}

<footer>gwi-fleet compliance report, schema 1. The same figures are available as JSON, Markdown and CSV (gwi-fleet compliance --format).</footer>
</body>
</html>
"""#
}
