package middleware

// The warning banner's text in every language it speaks.
//
// The English text is the reference. The other languages are the
// author's own translations and have been reviewed by nobody yet: a
// native speaker's correction is welcome, and must keep the meaning
// (who can read the traffic, what to do) and the "{product}"
// placeholder.
//
// Strings are written in UTF-8 here; the banner renders every non-ASCII
// character as a numeric character reference so that the injected bytes
// are plain ASCII and read correctly whatever the page's charset
// (windows-1251, GBK, Shift_JIS, …), see asciiHTML.

// productPlaceholder marks where the interceptor's name goes in
// [bannerMessages.interceptedBy].
const productPlaceholder = "{product}"

// bannerMessages is the banner's text in one language.
type bannerMessages struct {
	// tag is the BCP 47 tag written into the banner's lang attribute.
	tag string
	// rtl is true for right-to-left scripts (the banner gets dir="rtl").
	rtl bool
	// intercepted is the headline when the interceptor is not known.
	intercepted string
	// interceptedBy is the headline with productPlaceholder where the
	// interceptor's name goes.
	interceptedBy string
	// explain says who can read the traffic.
	explain string
	// advice says what the user can do.
	advice string
	// help is the text of the optional BannerConfig.HelpURL link.
	help string
	// dismiss labels the close button for assistive technology.
	dismiss string
}

// Locales, in the order their tables appear in bannerLocales. localeEN
// must stay 0: it is the fallback.
const (
	localeEN = iota
	localeRU
	localeKK
	localeZHHans
	localeZHHant
	localeFA
	localeTR
	localeAR
	localeES
	localeDE
	localeFR
	numLocales
)

// bannerLocales returns the text of every language, indexed by the
// locale constants above. It is a function rather than a package
// variable so that no package state exists to be modified; NewBanner
// calls it once and renders the text into the Banner's own fragments.
func bannerLocales() [numLocales]bannerMessages {
	return [numLocales]bannerMessages{
		localeEN: {
			tag:           "en",
			intercepted:   "Your connection to this site is being intercepted.",
			interceptedBy: "Your connection to this site is being intercepted by {product}.",
			explain:       "Someone between you and this site \u2014 security software, a network proxy or your network provider \u2014 can read and change what you send and receive here, including passwords.",
			advice:        "If you did not install such software, do not enter passwords or payment details; try another network, or ask your IT department.",
			help:          "What you can do",
			dismiss:       "Dismiss this warning",
		},
		localeRU: {
			tag:           "ru",
			intercepted:   "Ваше соединение с этим сайтом перехватывается.",
			interceptedBy: "Ваше соединение с этим сайтом перехватывает {product}.",
			explain:       "Кто-то между вами и этим сайтом \u2014 защитная программа, сетевой прокси-сервер или ваш интернет-провайдер \u2014 может читать и изменять всё, что вы здесь отправляете и получаете, включая пароли.",
			advice:        "Если вы не устанавливали такую программу, не вводите пароли и платёжные данные: попробуйте другую сеть или обратитесь в ваш ИТ-отдел.",
			help:          "Что можно сделать",
			dismiss:       "Закрыть предупреждение",
		},
		localeKK: {
			tag:           "kk",
			intercepted:   "Сіздің осы сайтпен байланысыңыз ұсталып жатыр.",
			interceptedBy: "Сіздің осы сайтпен байланысыңызды {product} ұстап отыр.",
			explain:       "Сіз бен осы сайттың арасындағы біреу \u2014 қауіпсіздік бағдарламасы, желілік прокси немесе интернет-провайдеріңіз \u2014 мұнда жіберетін және алатын деректеріңізді, соның ішінде құпиясөздерді, оқи және өзгерте алады.",
			advice:        "Егер мұндай бағдарламаны өзіңіз орнатпаған болсаңыз, құпиясөздерді немесе төлем деректерін енгізбеңіз; басқа желіні қолданып көріңіз немесе IT бөліміне хабарласыңыз.",
			help:          "Не істеуге болады",
			dismiss:       "Ескертуді жабу",
		},
		localeZHHans: {
			tag:           "zh-Hans",
			intercepted:   "您与本网站的连接正在被拦截。",
			interceptedBy: "您与本网站的连接正在被 {product} 拦截。",
			explain:       "您与本网站之间的某一方（安全软件、网络代理或您的网络服务提供商）可以读取和修改您在此发送和接收的内容，包括密码。",
			advice:        "如果您没有安装此类软件，请不要输入密码或支付信息；请尝试更换网络，或联系您的 IT 部门。",
			help:          "您可以怎么做",
			dismiss:       "关闭此警告",
		},
		localeZHHant: {
			tag:           "zh-Hant",
			intercepted:   "您與本網站的連線正遭到攔截。",
			interceptedBy: "您與本網站的連線正遭到 {product} 攔截。",
			explain:       "您與本網站之間的某一方（安全軟體、網路代理伺服器或您的網路服務供應商）可以讀取並修改您在此傳送和接收的內容，包括密碼。",
			advice:        "如果您沒有安裝此類軟體，請勿輸入密碼或付款資料；請改用其他網路，或聯絡您的 IT 部門。",
			help:          "您可以怎麼做",
			dismiss:       "關閉此警告",
		},
		localeFA: {
			tag:           "fa",
			rtl:           true,
			intercepted:   "اتصال شما به این وب\u200cسایت رهگیری می\u200cشود.",
			interceptedBy: "اتصال شما به این وب\u200cسایت توسط {product} رهگیری می\u200cشود.",
			explain:       "کسی میان شما و این وب\u200cسایت \u2014 یک نرم\u200cافزار امنیتی، یک پراکسی شبکه یا ارائه\u200cدهندهٔ اینترنت شما \u2014 می\u200cتواند آنچه را در اینجا می\u200cفرستید و دریافت می\u200cکنید، از جمله گذرواژه\u200cها، بخواند و تغییر دهد.",
			advice:        "اگر چنین نرم\u200cافزاری را خودتان نصب نکرده\u200cاید، گذرواژه یا اطلاعات پرداخت وارد نکنید؛ از شبکهٔ دیگری استفاده کنید یا با بخش فناوری اطلاعات خود تماس بگیرید.",
			help:          "چه کاری می\u200cتوانید بکنید",
			dismiss:       "بستن این هشدار",
		},
		localeTR: {
			tag:           "tr",
			intercepted:   "Bu siteyle olan bağlantınız ele geçiriliyor.",
			interceptedBy: "Bu siteyle olan bağlantınız {product} tarafından ele geçiriliyor.",
			explain:       "Sizinle bu site arasındaki biri \u2014 bir güvenlik yazılımı, bir ağ proxy'si ya da internet servis sağlayıcınız \u2014 burada gönderdiğiniz ve aldığınız her şeyi, parolalar dahil, okuyabilir ve değiştirebilir.",
			advice:        "Böyle bir yazılımı siz kurmadıysanız parola veya ödeme bilgisi girmeyin; başka bir ağ deneyin ya da BT departmanınıza danışın.",
			help:          "Neler yapabilirsiniz",
			dismiss:       "Bu uyarıyı kapat",
		},
		localeAR: {
			tag:           "ar",
			rtl:           true,
			intercepted:   "يجري اعتراض اتصالك بهذا الموقع.",
			interceptedBy: "يجري اعتراض اتصالك بهذا الموقع بواسطة {product}.",
			explain:       "يستطيع طرفٌ ما بينك وبين هذا الموقع \u2014 برنامج حماية أو خادم وكيل في الشبكة أو مزوّد خدمة الإنترنت لديك \u2014 قراءة ما ترسله وتستقبله هنا وتغييره، بما في ذلك كلمات المرور.",
			advice:        "إذا لم تثبّت برنامجًا كهذا بنفسك، فلا تُدخل كلمات المرور أو بيانات الدفع؛ جرّب شبكة أخرى أو تواصل مع قسم تقنية المعلومات لديك.",
			help:          "ما الذي يمكنك فعله",
			dismiss:       "إغلاق هذا التحذير",
		},
		localeES: {
			tag:           "es",
			intercepted:   "Su conexión con este sitio está siendo interceptada.",
			interceptedBy: "Su conexión con este sitio está siendo interceptada por {product}.",
			explain:       "Alguien entre usted y este sitio (un programa de seguridad, un proxy de red o su proveedor de internet) puede leer y modificar lo que envía y recibe aquí, incluidas las contraseñas.",
			advice:        "Si usted no instaló un programa así, no introduzca contraseñas ni datos de pago; pruebe con otra red o consulte a su departamento de informática.",
			help:          "Qué puede hacer",
			dismiss:       "Cerrar este aviso",
		},
		localeDE: {
			tag:           "de",
			intercepted:   "Ihre Verbindung zu dieser Website wird abgefangen.",
			interceptedBy: "Ihre Verbindung zu dieser Website wird von {product} abgefangen.",
			explain:       "Jemand zwischen Ihnen und dieser Website \u2013 eine Sicherheitssoftware, ein Netzwerk-Proxy oder Ihr Internetanbieter \u2013 kann mitlesen und verändern, was Sie hier senden und empfangen, auch Passwörter.",
			advice:        "Wenn Sie keine solche Software installiert haben, geben Sie keine Passwörter oder Zahlungsdaten ein; versuchen Sie es über ein anderes Netzwerk oder wenden Sie sich an Ihre IT-Abteilung.",
			help:          "Was Sie tun können",
			dismiss:       "Diese Warnung schließen",
		},
		localeFR: {
			tag:           "fr",
			intercepted:   "Votre connexion à ce site est interceptée.",
			interceptedBy: "Votre connexion à ce site est interceptée par {product}.",
			explain:       "Quelqu\u2019un entre vous et ce site \u2014 un logiciel de sécurité, un proxy réseau ou votre fournisseur d\u2019accès \u2014 peut lire et modifier ce que vous envoyez et recevez ici, y compris vos mots de passe.",
			advice:        "Si vous n\u2019avez pas installé un tel logiciel, ne saisissez ni mot de passe ni coordonnées bancaires\u00a0; essayez un autre réseau ou contactez votre service informatique.",
			help:          "Que faire",
			dismiss:       "Fermer cet avertissement",
		},
	}
}
