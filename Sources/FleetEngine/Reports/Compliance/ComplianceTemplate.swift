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
  .verdict { font-weight: bold; font-size: 12pt; padding: 2mm 3mm; border-left: 4px solid; margin: 3mm 0; white-space: nowrap; }
  .verdict.pass { border-color: #1a7f37; background: #e6f4ea; }
  .verdict.fail { border-color: #b42318; background: #fdecea; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: 1mm 1.5mm; border-bottom: 1px solid #ddd; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .figures th { width: 45%; font-weight: normal; color: #333; }
  .figures td { word-break: break-all; }
  .venues { font-size: 7pt; }
  .venues th, .venues td { padding: 1mm 0.7mm; }
  .venues tr.not-compliant td:nth-child(2) { color: #b42318; font-weight: bold; }
  .venues tr.compliant td:nth-child(2) { color: #1a7f37; }
  .venues tr.disabled td { color: #777; font-style: italic; }
  .grid { font-size: 7pt; width: auto; margin-bottom: 3mm; }
  .grid th { padding: 0 1px; font-weight: normal; white-space: nowrap; text-align: center; border: 0; }
  .grid th.venue { text-align: left; max-width: 40mm; min-width: 24mm; overflow: hidden; text-overflow: ellipsis; padding-right: 2mm; }
  .grid th.month { text-align: left; border-left: 1px solid #999; font-weight: bold; }
  .grid thead th.monday { border-left: 1px solid #999; }
  .grid td { padding: 0; min-width: 18px; width: 18px; height: 18px; text-align: center; vertical-align: middle; border: 1px solid #fff; }
  .grid tr.disabled th.venue { color: #777; font-style: italic; }
  .grid td.disabled { background: repeating-linear-gradient(45deg, #f4f4f4 0 3px, #d6d6d6 3px 5px); }
  .grid td.not-in-scope { background: #fff; border: 1px dotted #ccc; }
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
  .legend .not-in-scope { border: 1px dotted #999; }
  .legend .disabled { background: repeating-linear-gradient(45deg, #f4f4f4 0 3px, #d6d6d6 3px 5px); }
  .legend .off { box-shadow: inset 0 -1.2mm 0 #1f4e9c; background: #f2c94c; }
  figure { margin: 2mm 0 4mm; break-inside: avoid; }
  figcaption { font-size: 9pt; color: #333; }
  svg { width: 100%; height: auto; display: block; }
  .details li { margin-bottom: 1mm; word-break: break-word; }
  footer { margin-top: 6mm; color: #666; font-size: 8pt; word-break: break-all; }
  footer code, .figures td code { font-size: 8pt; }
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
<p class="legend"><span class="verified">V verified</span><span class="complete">C complete</span><span class="off">off-site</span><span class="failed">! failed</span><span class="missing">- missing</span><span class="not-in-scope">not in scope (before the first backup)</span><span class="disabled">venue disabled</span></p>
{{#grids}}
<table class="grid">
<thead>
<tr><th class="venue" scope="col"></th>{{#months}}<th class="month" scope="colgroup" colspan="{{span}}" title="{{title}}">{{name}}</th>{{/months}}</tr>
<tr><th class="venue" scope="col">venue</th>{{#days}}<th class="{{cls}}" scope="col" title="{{title}}">{{label}}</th>{{/days}}</tr>
</thead>
<tbody>
{{#rows}}<tr class="{{cls}}"><th class="venue" scope="row" title="{{label}}">{{label}}</th>{{#cells}}<td class="{{cls}}" title="{{title}}">{{mark}}</td>{{/cells}}</tr>
{{/rows}}
</tbody>
</table>
{{/grids}}

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
<svg viewBox="0 0 700 170" width="700" height="170" role="img" aria-label="{{title}}">
<line class="axis" x1="70" y1="140" x2="690" y2="140" stroke="#444"></line>
<line class="axis" x1="70" y1="10" x2="70" y2="140" stroke="#444"></line>
{{#yTicks}}<line x1="66" y1="{{y}}" x2="690" y2="{{y}}" stroke="#e4e4e4"></line><text class="tick" x="{{x}}" y="{{y}}" font-size="10" fill="#444" text-anchor="end" dominant-baseline="middle">{{label}}</text>
{{/yTicks}}
{{#bars}}<rect x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="#1f4e9c"><title>{{title}}</title></rect>
{{/bars}}
{{#xTicks}}<line x1="{{x}}" y1="140" x2="{{x}}" y2="144" stroke="#444"></line><text class="tick" x="{{x}}" y="156" font-size="10" fill="#444" text-anchor="middle">{{label}}</text>
{{/xTicks}}
{{#empty}}<text x="380" y="80" text-anchor="middle" font-size="12" fill="#666">no backups in the period</text>{{/empty}}
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

<h2>Provenance</h2>
<table class="figures">
<tbody>
{{#provenance}}<tr><th scope="row">{{name}}</th><td>{{value}}</td></tr>
{{/provenance}}
</tbody>
</table>
<p class="meta">gwi-fleet compliance report, schema 2. The same figures are available as JSON, Markdown and CSV (gwi-fleet compliance --format).</p>
<footer>SHA-256 of this page up to this footer: <code class="page-sha256">{{pageSha256}}</code>. To check: <code>sed '/^&lt;footer/,$d' FILE | sha256sum</code></footer>
</body>
</html>
"""#
}
