// The example function install.sh deploys: a warm node handler (faass.conf(5), runtime node).
module.exports = async (event) => {
  const name = (event.body || '').trim() || event.query.replace(/^name=/, '') || 'world';
  return `Hello, ${name}!\n`;
};
