

“З№Я§ђмЛяЇсХйШџЕ ulchveWrgJnoHZPn.21