const raw = "{'dishes': ['soup', 'salad']}";

function loadMenu() {
  const menu = JSON.parse(raw);
  return menu.dishes;
}

module.exports = { loadMenu };
