"""Vocabulary of the synthetic world: names, places, products and free text in zh and en.

The warehouse must cope with what real Chinese retail data looks like: Chinese and
English names side by side, pinyin e-mail addresses, Chinese city and province names
with a few customers abroad, and free text (survey comments, ticket descriptions,
social posts) in either language with emoji that carry the sentiment. Everything here is
plain data; the choices are made by the model with its own seeded random generator.
"""

from __future__ import annotations

BRAND_ZH = "青岚"
BRAND_EN = "Qinglan"

# (hanzi, pinyin) so e-mail addresses and handles can be derived from Chinese names.
ZH_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("蒋", "jiang"), ("蔡", "cai"), ("叶", "ye"), ("苏", "su"), ("魏", "wei"), ("沈", "shen"),
    ("欧阳", "ouyang"), ("司马", "sima"),
)
ZH_GIVEN_F: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("秀英", "xiuying"), ("桂英", "guiying"), ("雨桐", "yutong"),
    ("欣怡", "xinyi"), ("梓萱", "zixuan"), ("佳怡", "jiayi"), ("诗涵", "shihan"), ("婷婷", "tingting"),
    ("嘉怡", "jiayi"), ("晨曦", "chenxi"), ("思琪", "siqi"), ("雪", "xue"), ("慧", "hui"),
)
ZH_GIVEN_M: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("平", "ping"),
    ("晓明", "xiaoming"), ("浩然", "haoran"), ("宇轩", "yuxuan"), ("思远", "siyuan"),
    ("俊杰", "junjie"), ("文博", "wenbo"), ("子涵", "zihan"), ("一鸣", "yiming"), ("建国", "jianguo"),
)
EN_GIVEN_F = (
    "Emily", "Olivia", "Sophia", "Grace", "Chloe", "Hannah", "Mia", "Zoe", "Amy", "Vivian",
    "Cindy", "Jessica", "Sarah", "Anna", "Linda", "Karen", "Michelle", "Tiffany", "Renée", "Zoë",
)
EN_GIVEN_M = (
    "James", "Liam", "Noah", "Daniel", "Ethan", "Lucas", "Ryan", "Kevin", "Jason", "Eric",
    "Tony", "Michael", "David", "Peter", "Jack", "William", "Henry", "Oscar", "José", "André",
)
EN_SURNAMES = (
    "Chen", "Wang", "Li", "Zhang", "Liu", "Lin", "Huang", "Wong", "Lee", "Tan", "Lim", "Ng",
    "Chan", "Ho", "Smith", "Brown", "Taylor", "Johnson", "Williams", "Martin", "Garcia",
    "Nguyen", "Müller", "O'Brien", "Kim", "Park",
)
ZH_EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com")
EN_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "qq.com")

# (city, region, weight, phone prefix) for mainland China; region is the province.
CN_CITIES: tuple[tuple[str, str, int], ...] = (
    ("上海", "上海市", 16), ("北京", "北京市", 14), ("广州", "广东省", 9), ("深圳", "广东省", 10),
    ("杭州", "浙江省", 8), ("成都", "四川省", 7), ("南京", "江苏省", 5), ("苏州", "江苏省", 5),
    ("武汉", "湖北省", 5), ("西安", "陕西省", 4), ("重庆", "重庆市", 5), ("天津", "天津市", 3),
    ("长沙", "湖南省", 3), ("青岛", "山东省", 3), ("厦门", "福建省", 2), ("宁波", "浙江省", 2),
    ("郑州", "河南省", 2), ("昆明", "云南省", 1), ("哈尔滨", "黑龙江省", 1), ("大连", "辽宁省", 1),
)
# (city, region, weight, phone country code)
ABROAD_CITIES: tuple[tuple[str, str, int, str], ...] = (
    ("Hong Kong", "Hong Kong SAR", 4, "+852"), ("Singapore", "Singapore", 4, "+65"),
    ("London", "England", 2, "+44"), ("Sydney", "New South Wales", 2, "+61"),
    ("Vancouver", "British Columbia", 2, "+1"), ("New York", "New York", 1, "+1"),
    ("Kuala Lumpur", "Wilayah Persekutuan", 1, "+60"), ("Taipei", "Taiwan", 2, "+886"),
)
# Physical stores: (store_id, city).
STORES: tuple[tuple[str, str], ...] = (
    ("ST-SH-01", "上海"), ("ST-SH-02", "上海"), ("ST-SH-03", "上海"), ("ST-BJ-01", "北京"),
    ("ST-BJ-02", "北京"), ("ST-GZ-01", "广州"), ("ST-SZ-01", "深圳"), ("ST-SZ-02", "深圳"),
    ("ST-HZ-01", "杭州"), ("ST-CD-01", "成都"), ("ST-NJ-01", "南京"), ("ST-SU-01", "苏州"),
    ("ST-WH-01", "武汉"), ("ST-XA-01", "西安"), ("ST-CQ-01", "重庆"), ("ST-HK-01", "Hong Kong"),
)

# (product_id, name, category, list price in CNY)
PRODUCTS: tuple[tuple[str, str, str, int], ...] = (
    ("P-APP-001", "经典白T恤 Classic White Tee", "apparel", 129),
    ("P-APP-002", "羊毛围巾 Wool Scarf", "apparel", 299),
    ("P-APP-003", "轻薄羽绒服 Light Down Jacket", "apparel", 899),
    ("P-APP-004", "真丝衬衫 Silk Shirt", "apparel", 599),
    ("P-APP-005", "运动卫衣 Sports Hoodie", "apparel", 359),
    ("P-APP-006", "亚麻长裤 Linen Trousers", "apparel", 429),
    ("P-FOO-001", "城市跑鞋 City Running Shoes", "footwear", 699),
    ("P-FOO-002", "帆布鞋 Canvas Sneakers", "footwear", 259),
    ("P-FOO-003", "羊皮短靴 Leather Ankle Boots", "footwear", 1299),
    ("P-BAG-001", "通勤双肩包 Commuter Backpack", "bags", 459),
    ("P-BAG-002", "帆布托特包 Canvas Tote", "bags", 169),
    ("P-BAG-003", "真皮手袋 Leather Handbag", "bags", 1599),
    ("P-BEA-001", "保湿精华 Hydrating Serum 30ml", "beauty", 329),
    ("P-BEA-002", "防晒乳 Daily Sunscreen SPF50", "beauty", 139),
    ("P-BEA-003", "护手霜礼盒 Hand Cream Gift Set", "beauty", 199),
    ("P-BEA-004", "香水 Eau de Parfum 50ml", "beauty", 699),
    ("P-BEA-005", "洁面乳 Gentle Cleanser", "beauty", 89),
    ("P-HOM-001", "保温杯 Thermal Mug 500ml", "home", 149),
    ("P-HOM-002", "香薰蜡烛 Scented Candle", "home", 119),
    ("P-HOM-003", "纯棉四件套 Cotton Bedding Set", "home", 799),
    ("P-HOM-004", "陶瓷餐具 Ceramic Dinnerware Set", "home", 459),
    ("P-HOM-005", "羽绒枕 Down Pillow", "home", 329),
    ("P-ELE-001", "无线耳机 Wireless Earbuds", "electronics", 599),
    ("P-ELE-002", "充电宝 Power Bank 10000mAh", "electronics", 169),
    ("P-ELE-003", "智能手环 Smart Band", "electronics", 299),
    ("P-ELE-004", "蓝牙音箱 Bluetooth Speaker", "electronics", 399),
    ("P-FOD-001", "龙井茶礼盒 Longjing Tea Gift Box", "food", 268),
    ("P-FOD-002", "坚果礼包 Mixed Nuts Pack", "food", 99),
    ("P-FOD-003", "月饼礼盒 Mooncake Gift Box", "food", 188),
    ("P-FOD-004", "挂耳咖啡 Drip Coffee Bags", "food", 69),
)

TIERS = ("bronze", "silver", "gold", "platinum")

# Ticket subjects by category: (zh, en); descriptions add detail.
TICKET_CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = {
    "delivery": {
        "zh": ("快递迟迟未到", "物流信息一直不更新", "包裹显示签收但没收到"),
        "en": ("Order has not arrived", "Tracking has not updated for days", "Parcel marked delivered but not received"),
    },
    "product_quality": {
        "zh": ("收到的商品有破损", "质量问题，用了两天就坏了", "颜色和图片严重不符"),
        "en": ("Item arrived damaged", "Product broke after two days", "Colour is nothing like the photos"),
    },
    "refund": {
        "zh": ("退款还没到账", "申请退货被拒绝", "退款金额不对"),
        "en": ("Refund not received yet", "Return request rejected", "Refund amount is wrong"),
    },
    "billing": {
        "zh": ("被重复扣款", "优惠券没有抵扣", "发票开错了"),
        "en": ("Charged twice for one order", "Coupon was not applied", "Invoice has the wrong details"),
    },
    "account": {
        "zh": ("无法登录账号", "手机号换了怎么改", "收不到验证码"),
        "en": ("Cannot log into my account", "How do I change my phone number", "Verification code never arrives"),
    },
    "service_attitude": {
        "zh": ("门店店员态度很差", "客服挂我电话", "客服回复敷衍"),
        "en": ("Rude staff at the store", "Agent hung up on me", "Support replies are copy-paste"),
    },
    "product_inquiry": {
        "zh": ("请问这款有大码吗", "这个可以机洗吗", "什么时候补货"),
        "en": ("Is this available in a larger size", "Can this be machine washed", "When will this be restocked"),
    },
    "membership": {
        "zh": ("积分没有到账", "会员等级不对", "积分快过期了能延期吗"),
        "en": ("Points missing from my account", "My membership tier is wrong", "Can my expiring points be extended"),
    },
}
COMPLAINT_CATEGORIES = ("delivery", "product_quality", "refund", "billing", "service_attitude")
TICKET_DETAIL = {
    "zh": ("已经等了好几天了，麻烦尽快处理。", "请尽快给我一个答复，谢谢。", "这是第二次联系你们了。",
           "订单号在附件里，请帮忙查一下。", "希望能给个合理的解决方案。"),
    "en": ("I have been waiting for days, please sort this out.", "Please get back to me soon, thanks.",
           "This is the second time I am contacting you.", "Order number is attached, please check.",
           "I expect a fair solution."),
}

EMOJI = {
    "positive": ("😍", "👍", "❤️", "😊", "🎉", "✨", "🥰", "💯"),
    "neutral": ("🙂", "😐", "🤔", "👌", ""),
    "negative": ("😡", "👎", "😞", "💔", "😤", "🙄"),
}

# Survey comments by sentiment and topic (the driver the respondent cares most about).
COMMENTS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "zh": {
        "positive": {
            "product": ("质量很好，做工精致，会推荐给朋友！", "东西超出预期，包装也很用心", "用了一个月还是很喜欢"),
            "service": ("客服回复很快，问题一下就解决了", "店员很耐心，服务很贴心", "售后处理得很专业"),
            "price": ("性价比很高，活动价很划算", "双十一买的，价格很实惠"),
            "convenience": ("下单很方便，第二天就到了", "App很好用，退换货也简单"),
            "brand": ("一直很喜欢这个品牌", "品牌调性很好，朋友都问我在哪买的"),
            "relationship": ("会员福利很贴心，生日还收到了礼物", "老顾客了，一直很放心"),
        },
        "neutral": {
            "product": ("东西还行，中规中矩", "质量一般，对得起价格"),
            "service": ("客服态度还可以，就是回复有点慢", "服务一般般"),
            "price": ("价格有点贵，等活动再买", "不打折的时候不太划算"),
            "convenience": ("物流速度正常", "App有时候有点卡"),
            "brand": ("品牌还可以吧", "没什么特别的感觉"),
            "relationship": ("会员积分有点少", "会员权益没太感觉到"),
        },
        "negative": {
            "product": ("质量太差，用了两天就坏了", "和图片完全不一样，很失望", "做工粗糙，线头很多"),
            "service": ("客服电话一直打不通，差评", "投诉了三次都没人处理", "店员态度很差"),
            "price": ("太贵了，还不如别家", "刚买就降价，也不给补差价"),
            "convenience": ("等了一个星期才发货，太失望了", "退货流程太麻烦了"),
            "brand": ("对这个品牌太失望了，不会再买了", "名不副实"),
            "relationship": ("老顾客一点优待都没有", "积分说过期就过期，也不提醒"),
        },
    },
    "en": {
        "positive": {
            "product": ("Great quality, really well made. Will recommend!", "Better than expected, lovely packaging",
                        "Still love it after a month"),
            "service": ("Support replied fast and fixed it right away", "Store staff were so patient and kind",
                        "Very professional after-sales service"),
            "price": ("Great value, the sale price was a steal", "Bought it on Double 11, amazing deal"),
            "convenience": ("Easy to order and it arrived the next day", "The app is smooth and returns are easy"),
            "brand": ("Been a fan of this brand for years", "Love the brand, friends keep asking where I got it"),
            "relationship": ("Lovely member perks, even got a birthday gift", "Long-time customer and always happy"),
        },
        "neutral": {
            "product": ("It's OK, nothing special", "Decent quality for the price"),
            "service": ("Support was fine, a bit slow to reply", "Service was average"),
            "price": ("A bit pricey, I'll wait for a sale", "Not great value at full price"),
            "convenience": ("Delivery time was normal", "The app lags sometimes"),
            "brand": ("The brand is alright", "No strong feelings either way"),
            "relationship": ("Not many points per order", "Didn't notice the member benefits much"),
        },
        "negative": {
            "product": ("Terrible quality, broke after two days", "Looks nothing like the photos, very disappointed",
                        "Sloppy stitching everywhere"),
            "service": ("Could never get through to the hotline", "Complained three times and nobody helped",
                        "The staff were rude"),
            "price": ("Way overpriced", "Price dropped right after I bought it and no price protection"),
            "convenience": ("Took a week to ship, so disappointing", "The return process is a nightmare"),
            "brand": ("So disappointed in this brand, never again", "Not what the brand promises"),
            "relationship": ("Loyal for years and zero appreciation", "My points expired without any reminder"),
        },
    },
}

# Social posts by sentiment; {brand} is replaced by the brand name in the post's language.
POSTS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "positive": ("#{brand}好物# 新入的{product}，质感绝了", "被{brand}的售后圈粉了，处理超快",
                     "{brand}会员日收到惊喜礼物，太暖心了", "双十一在{brand}囤货，价格真香",
                     "安利{brand}的{product}，已经回购第三次", "{brand}门店体验很好，店员超专业"),
        "neutral": ("有人用过{brand}的{product}吗？求测评", "{brand}这次活动力度一般",
                    "路过{brand}门店看了一眼", "{brand}的{product}和别家比怎么样"),
        "negative": ("{brand}的{product}质量太差了，避雷", "{brand}客服根本打不通，投诉无门",
                     "在{brand}买的东西一周还没发货", "{brand}退款拖了半个月，再也不买了",
                     "@{brand}官方 请给个说法！"),
    },
    "en": {
        "positive": ("Loving my new {product} from {brand}", "{brand} customer service sorted my issue in minutes",
                     "Surprise gift from {brand} on my birthday, so sweet", "Stocked up at the {brand} sale, great deals",
                     "Third time buying the {product} from {brand}, highly recommend"),
        "neutral": ("Anyone tried the {product} from {brand}?", "The {brand} sale is so-so this year",
                    "Walked past the new {brand} store today", "{brand} vs the others, thoughts?"),
        "negative": ("The {product} from {brand} fell apart after a week, avoid", "@{brand} still waiting on my refund",
                     "{brand} support never answers, so frustrating", "Order from {brand} stuck for a week"),
    },
}
BRAND_REPLIES = {
    "zh": ("您好，非常抱歉给您带来不好的体验，已私信您，请提供订单号，我们马上处理🙏",
           "亲，抱歉让您久等了，客服会在今天内联系您～", "感谢反馈！我们已经转给相关同事跟进💪"),
    "en": ("Hi, we're so sorry to hear this. We've sent you a DM, please share your order number 🙏",
           "Sorry for the wait! Our team will reach out today.", "Thanks for the feedback, we're on it 💪"),
}
BRAND_THANKS = {
    "zh": ("谢谢亲的喜欢～期待您的下次光临💕", "感谢分享！青岚会继续努力的✨", "太开心了，谢谢支持🥰"),
    "en": ("Thank you so much for the love! 💕", "So glad you like it, thanks for sharing ✨", "Thanks for the support! 🥰"),
}
BRAND_HANDLES = {
    "weibo": "@青岚官方", "wechat": "青岚Qinglan", "xiaohongshu": "@青岚官方旗舰店", "douyin": "@青岚官方",
    "x": "@qinglan_official", "instagram": "@qinglan.official",
}
HANDLE_WORDS = ("cat", "tea", "moon", "travel", "daily", "life", "foodie", "sunny", "panda", "style",
                "mint", "coffee", "run", "cloud", "dream", "lucky")
ZH_HANDLE_WORDS = ("小", "爱吃鱼的猫", "快乐", "橘子", "奶茶", "星星", "旅行", "打工人", "柠檬", "小鹿")
