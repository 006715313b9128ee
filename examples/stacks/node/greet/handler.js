'use strict'

module.exports = async (event, context) => {
  const name = (event.body && event.body.name) || 'world';
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain' })
    .succeed(`${process.env.GREETING}, ${name}!`);
}
