// The console's third-party files (issue 16): served from dist/ui under these names, copied there
// by post-build.js from the npm packages pinned in package.json; the size test weighs them too.
// No CDN: the page loads them with a plain <script src>/<link> like its own files.
module.exports = {
  'uplot.js': 'node_modules/uplot/dist/uPlot.iife.min.js',
  'uplot.css': 'node_modules/uplot/dist/uPlot.min.css',
};
