package lang

var labelsBG = catalog{
	"topic.0":  "Общи въпроси",
	"topic.1":  "Мрежа",
	"topic.2":  "Правила",
	"topic.3":  "Плащания",
	"topic.4":  "SSL / Сертификати",
	"topic.5":  "Производителност",
	"status.0": "Отворен",
	"status.1": "В процес",
	"status.2": "Решен",
	"status.3": "Затворен",
}
