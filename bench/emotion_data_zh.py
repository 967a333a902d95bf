"""The Chinese evaluation set for the speech-text emotion channel: sentences people say in videos.

98 sentences of spoken Simplified Chinese, 14 per label, each with the emotion its speaker means and
an espeak-ng Mandarin voice (`cmn-latn-pinyin` with variants, reading the sentence's pinyin), voiced
as bench/emotion_data.py voices English: anger fast and tense, sadness slow and low, fear fast and
high, ... Written by hand for this
benchmark, separately from the training sentences (models/data/emotion_train_zh.tsv), in
situations a video library holds: vlogs, live streams, interviews, customer calls, sports
commentary, unboxings, cooking and repair tutorials.

NEVER train or tune on these. This file is only read by bench/emotion_quality.py and by the guard
tests in tests/test_emotion_text.py. Changing a sentence here because the classifier got it wrong
would make every figure measured on it meaningless.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emotion_data import _PROSODY, Spoken  # noqa: E402
from models.emotions import EMOTIONS  # noqa: E402

_VOICES = ("cmn-latn-pinyin", "cmn-latn-pinyin+f3", "cmn-latn-pinyin+m3", "cmn-latn-pinyin+f2",
           "cmn-latn-pinyin+m2")

_SENTENCES = {
    "joy": [
        "家人们，我们直播间今天的人数创纪录了，谢谢大家的支持！",
        "我女儿打电话说她拿到了奖学金，我高兴得一晚上没睡着。",
        "这个面包烤得也太成功了吧，又松又软，我好满意。",
        "进球了！进球了！太漂亮了，这是本赛季最精彩的一晚！",
        "和老同学一起吃火锅聊天，好久没这么痛快地笑过了。",
        "谢谢师傅这么快就帮我修好了，今天心情特别好。",
        "我们的小店终于开始赚钱了，我激动得想哭。",
        "外公今天八十岁，他拉着每个人跳舞，大家都乐坏了。",
        "拿到第一份工资，我给爸妈买了礼物，他们开心得不得了。",
        "这次露营太舒服了，星星特别多，我好喜欢这种感觉。",
        "新来的小狗已经跟我们混熟了，每天回家都有它迎接，好幸福。",
        "等了三年的签证终于下来了，我们可以出发啦！",
        "今天的学生特别积极，上课的感觉真是太愉快了。",
        "听到评委说我通过了，我整个人都开心得蹦起来了。",
    ],
    "sadness": [
        "我们养了十二年的老狗昨晚走了，家里一下子安静得让人难受。",
        "外婆的老房子卖掉了，以后再也回不去了，心里空落落的。",
        "我准备了半年的比赛，第一轮就被淘汰了，真的很失落。",
        "这是我在这家公司的最后一天，说再见的时候我哭了。",
        "爸爸走了以后，妈妈每天都坐在窗边发呆，我看着很心酸。",
        "我给他发了好多消息，他一条都没回，我知道我们结束了。",
        "疫情这几年，店里的生意越来越差，最后还是没撑住。",
        "看到孩子在医院里打针哭，我心都碎了。",
        "我努力了这么久，还是没人认可，有时候真的很想放弃。",
        "搬家的时候翻到我们以前的合照，眼泪一下就下来了。",
        "最好的朋友出国了，以后只能在视频里见面了，好难过。",
        "今年又是一个人过生日，连一个祝福都没有收到。",
        "队长在赛后采访里一直低着头，说对不起支持我们的球迷。",
        "奶奶已经认不出我了，她一直叫我别人的名字，我好伤心。",
    ],
    "anger": [
        "你们客服到底有没有人管？我打了五次电话都没人解决！",
        "说好今天送到，现在又说延期，你们当我好欺负吗？",
        "这个球明显是犯规，裁判你眼睛长哪儿去了？",
        "我花了三千块买的东西，用了两天就坏了，必须给我退！",
        "你凭什么翻我的手机？谁给你的权利？",
        "楼下那辆车又堵在出口，我今天非得找到车主不可！",
        "他把我们辛辛苦苦做的视频直接盗走了，还说是原创，太无耻了！",
        "我最后说一遍，把你的垃圾拿走，不然我直接扔出去！",
        "别跟我解释了，我不想听，你们每次都是这套说辞！",
        "这个房东不退押金还骂人，真是气死我了！",
        "你再敢对我同事动手试试，我马上报警！",
        "加了一个月的班，奖金说没就没了，这公司太过分了！",
        "又是你！上次把我的方案改得乱七八糟，这次还来？",
        "排了一个小时的队，他一来就插到最前面，凭什么！",
    ],
    "fear": [
        "快看，后面那辆车一直在跟着我们，我好害怕。",
        "医生说要等化验结果，我担心得手都在抖。",
        "楼里的火警响了，到处都是烟，我们找不到楼梯了！",
        "我一个人在家，听见客厅有脚步声，我不敢出房间。",
        "飞机突然往下掉了一下，好多人都在尖叫，我吓坏了。",
        "孩子放学到现在还没回家，电话也打不通，我快急死了。",
        "这个山洞里面太黑了，我总觉得有什么东西在看着我。",
        "水已经漫到二楼了，我们被困在屋顶上，快来救我们！",
        "明天就要上台演讲了，我紧张得睡不着，怕自己忘词。",
        "刚才那个地震晃得好厉害，我到现在腿还是软的。",
        "有人在网上说知道我家住哪儿，我现在不敢出门。",
        "车在冰面上打滑了，我完全控制不住方向盘！",
        "我不敢往下看，这个悬崖太高了，我想回去。",
        "听说附近有人被抢了，我晚上下班都不敢一个人走。",
    ],
    "surprise": [
        "什么？你说这个包只要五十块？我还以为要五百呢！",
        "天哪，开箱开出来的竟然是限量版，我完全没想到！",
        "你怎么会在这儿？我们已经十年没见了吧！",
        "等等，原来凶手一直就是那个管家？太意外了！",
        "哇，这么小的孩子居然能弹这么难的曲子！",
        "没想到这个不起眼的小摊，味道比大饭店还好。",
        "真的假的？他们俩居然是亲兄弟？",
        "啊？会议改到今天了？没人通知我啊！",
        "我一抬头，天上竟然出现了两道彩虹！",
        "这个老爷爷八十多岁了还在玩滑板，简直不可思议！",
        "咦，这个旧手机居然还能开机，里面的照片都还在！",
        "原来这个结是这样打的？我学了好几年都不知道。",
        "什么？比赛最后三秒反超了？谁能想到啊！",
        "我随手买的一张彩票，居然中了二等奖？",
    ],
    "disgust": [
        "这家店的碗上还粘着上一个人的饭粒，太恶心了。",
        "冰箱一打开，一股臭鸡蛋的味道扑面而来，我差点吐了。",
        "他上完厕所不洗手就去抓零食吃，看得我好反胃。",
        "外卖里吃出了一只蟑螂，我以后再也不点这家了。",
        "这个酒店的浴缸里全是黑乎乎的污垢，根本不敢用。",
        "河边堆满了垃圾，死鱼漂在水面上，臭得人受不了。",
        "你看这块肉都发绿了，还黏黏的，太恶心了吧。",
        "那个人在餐厅里一直大声擤鼻涕，还往桌上甩。",
        "偷拍别人还发到网上炫耀，这种行为真让人作呕。",
        "出租车里一股烟味和汗臭味，我一上车就想下去。",
        "沙发缝里翻出了一堆发霉的薯片，还有虫子在爬。",
        "这些靠卖假药骗病人钱的人，真让人恶心透了。",
        "他把嚼过的口香糖直接吐在了地铁座位上，太没素质了，恶心。",
        "下水道的味道飘得整条街都是，闻着直想吐。",
    ],
    "neutral": [
        "今天这期视频我们来讲一下怎么更换空调的滤网。",
        "先把螺丝刀准备好，然后把面板往外拉。",
        "这款耳机的续航时间大概是八个小时。",
        "把鸡肉切成小块，加一勺酱油腌十分钟。",
        "下周一的会议改在三楼的小会议室。",
        "这个城市的人口大约是五百万。",
        "您的快递已经放在小区门口的快递柜里了。",
        "我们先看一下这张图表，横轴是时间，纵轴是销量。",
        "从这里坐公交车到机场大概需要四十分钟。",
        "这个包装盒里有一台主机、一根电源线和一本说明书。",
        "请在页面的右上角点击登录按钮。",
        "这座寺庙始建于唐朝，后来重修过两次。",
        "每天下午四点到五点是健身房人最少的时候。",
        "接下来我们把这两段视频拼接在一起。",
    ],
}


# What espeak-ng is given: the pinyin of each sentence, with tone numbers (pypinyin 0.55, TONE3 style,
# generated once and kept here so the bench needs no pinyin package). espeak-ng's `cmn` voice reads the
# characters' tone digits as English numbers ("ni three"); `cmn-latn-pinyin` speaks pinyin as Mandarin.
PINYIN = {
    "家人们，我们直播间今天的人数创纪录了，谢谢大家的支持！":
        "jia1 ren2 men5, wo3 men5 zhi2 bo1 jian1 jin1 tian1 de5 ren2 shu4 chuang4 ji4 lu4 le5, xie4 xie4 da4 jia1 de5 zhi1 chi2!",
    "我女儿打电话说她拿到了奖学金，我高兴得一晚上没睡着。":
        "wo3 nv3 er2 da3 dian4 hua4 shuo1 ta1 na2 dao4 le5 jiang3 xue2 jin1, wo3 gao1 xing4 de2 yi1 wan3 shang4 mei2 shui4 zhao2.",
    "这个面包烤得也太成功了吧，又松又软，我好满意。":
        "zhe4 ge5 mian4 bao1 kao3 de2 ye3 tai4 cheng2 gong1 le5 ba5, you4 song1 you4 ruan3, wo3 hao3 man3 yi4.",
    "进球了！进球了！太漂亮了，这是本赛季最精彩的一晚！":
        "jin4 qiu2 le5! jin4 qiu2 le5! tai4 piao4 liang4 le5, zhe4 shi4 ben3 sai4 ji4 zui4 jing1 cai3 de5 yi1 wan3!",
    "和老同学一起吃火锅聊天，好久没这么痛快地笑过了。":
        "he2 lao3 tong2 xue2 yi4 qi3 chi1 huo3 guo1 liao2 tian1, hao3 jiu3 mei2 zhe4 me5 tong4 kuai4 di4 xiao4 guo4 le5.",
    "谢谢师傅这么快就帮我修好了，今天心情特别好。":
        "xie4 xie4 shi1 fu4 zhe4 me5 kuai4 jiu4 bang1 wo3 xiu1 hao3 le5, jin1 tian1 xin1 qing2 te4 bie2 hao3.",
    "我们的小店终于开始赚钱了，我激动得想哭。":
        "wo3 men5 de5 xiao3 dian4 zhong1 yu2 kai1 shi3 zhuan4 qian2 le5, wo3 ji1 dong4 de2 xiang3 ku1.",
    "外公今天八十岁，他拉着每个人跳舞，大家都乐坏了。":
        "wai4 gong1 jin1 tian1 ba1 shi2 sui4, ta1 la1 zhe5 mei3 ge4 ren2 tiao4 wu3, da4 jia1 dou1 le4 huai4 le5.",
    "拿到第一份工资，我给爸妈买了礼物，他们开心得不得了。":
        "na2 dao4 di4 yi1 fen4 gong1 zi1, wo3 gei3 ba4 ma1 mai3 le5 li3 wu4, ta1 men5 kai1 xin1 de2 bu4 de2 le5.",
    "这次露营太舒服了，星星特别多，我好喜欢这种感觉。":
        "zhe4 ci4 lu4 ying2 tai4 shu1 fu2 le5, xing1 xing1 te4 bie2 duo1, wo3 hao3 xi3 huan1 zhe4 zhong3 gan3 jue2.",
    "新来的小狗已经跟我们混熟了，每天回家都有它迎接，好幸福。":
        "xin1 lai2 de5 xiao3 gou3 yi3 jing1 gen1 wo3 men5 hun4 shu2 le5, mei3 tian1 hui2 jia1 dou1 you3 ta1 ying2 jie1, hao3 xing4 fu2.",
    "等了三年的签证终于下来了，我们可以出发啦！":
        "deng3 le5 san1 nian2 de5 qian1 zheng4 zhong1 yu2 xia4 lai2 le5, wo3 men5 ke3 yi3 chu1 fa1 la5!",
    "今天的学生特别积极，上课的感觉真是太愉快了。":
        "jin1 tian1 de5 xue2 sheng1 te4 bie2 ji1 ji2, shang4 ke4 de5 gan3 jue2 zhen1 shi4 tai4 yu2 kuai4 le5.",
    "听到评委说我通过了，我整个人都开心得蹦起来了。":
        "ting1 dao4 ping2 wei3 shuo1 wo3 tong1 guo4 le5, wo3 zheng3 ge4 ren2 dou1 kai1 xin1 de2 beng4 qi3 lai2 le5.",
    "我们养了十二年的老狗昨晚走了，家里一下子安静得让人难受。":
        "wo3 men5 yang3 le5 shi2 er4 nian2 de5 lao3 gou3 zuo2 wan3 zou3 le5, jia1 li3 yi1 xia4 zi5 an1 jing4 de2 rang4 ren2 nan2 shou4.",
    "外婆的老房子卖掉了，以后再也回不去了，心里空落落的。":
        "wai4 po2 de5 lao3 fang2 zi5 mai4 diao4 le5, yi3 hou4 zai4 ye3 hui2 bu4 qu4 le5, xin1 li3 kong1 luo4 luo4 de5.",
    "我准备了半年的比赛，第一轮就被淘汰了，真的很失落。":
        "wo3 zhun3 bei4 le5 ban4 nian2 de5 bi3 sai4, di4 yi1 lun2 jiu4 bei4 tao2 tai4 le5, zhen1 de5 hen3 shi1 luo4.",
    "这是我在这家公司的最后一天，说再见的时候我哭了。":
        "zhe4 shi4 wo3 zai4 zhe4 jia1 gong1 si1 de5 zui4 hou4 yi1 tian1, shuo1 zai4 jian4 de5 shi2 hou4 wo3 ku1 le5.",
    "爸爸走了以后，妈妈每天都坐在窗边发呆，我看着很心酸。":
        "ba4 ba4 zou3 le5 yi3 hou4, ma1 ma1 mei3 tian1 dou1 zuo4 zai4 chuang1 bian1 fa1 dai1, wo3 kan4 zhe5 hen3 xin1 suan1.",
    "我给他发了好多消息，他一条都没回，我知道我们结束了。":
        "wo3 gei3 ta1 fa1 le5 hao3 duo1 xiao1 xi1, ta1 yi1 tiao2 dou1 mei2 hui2, wo3 zhi1 dao4 wo3 men5 jie2 shu4 le5.",
    "疫情这几年，店里的生意越来越差，最后还是没撑住。":
        "yi4 qing2 zhe4 ji3 nian2, dian4 li3 de5 sheng1 yi4 yue4 lai2 yue4 cha4, zui4 hou4 hai2 shi4 mei2 cheng1 zhu4.",
    "看到孩子在医院里打针哭，我心都碎了。":
        "kan4 dao4 hai2 zi5 zai4 yi1 yuan4 li3 da3 zhen1 ku1, wo3 xin1 dou1 sui4 le5.",
    "我努力了这么久，还是没人认可，有时候真的很想放弃。":
        "wo3 nu3 li4 le5 zhe4 me5 jiu3, hai2 shi4 mei2 ren2 ren4 ke3, you3 shi2 hou4 zhen1 de5 hen3 xiang3 fang4 qi4.",
    "搬家的时候翻到我们以前的合照，眼泪一下就下来了。":
        "ban1 jia1 de5 shi2 hou4 fan1 dao4 wo3 men5 yi3 qian2 de5 he2 zhao4, yan3 lei4 yi1 xia4 jiu4 xia4 lai2 le5.",
    "最好的朋友出国了，以后只能在视频里见面了，好难过。":
        "zui4 hao3 de5 peng2 you3 chu1 guo2 le5, yi3 hou4 zhi3 neng2 zai4 shi4 pin2 li3 jian4 mian4 le5, hao3 nan2 guo4.",
    "今年又是一个人过生日，连一个祝福都没有收到。":
        "jin1 nian2 you4 shi4 yi2 ge4 ren2 guo4 sheng1 ri4, lian2 yi2 ge4 zhu4 fu2 dou1 mei2 you3 shou1 dao4.",
    "队长在赛后采访里一直低着头，说对不起支持我们的球迷。":
        "dui4 zhang3 zai4 sai4 hou4 cai3 fang3 li3 yi4 zhi2 di1 zhe5 tou2, shuo1 dui4 bu4 qi3 zhi1 chi2 wo3 men5 de5 qiu2 mi2.",
    "奶奶已经认不出我了，她一直叫我别人的名字，我好伤心。":
        "nai3 nai3 yi3 jing1 ren4 bu4 chu1 wo3 le5, ta1 yi4 zhi2 jiao4 wo3 bie2 ren2 de5 ming2 zi4, wo3 hao3 shang1 xin1.",
    "你们客服到底有没有人管？我打了五次电话都没人解决！":
        "ni3 men5 ke4 fu2 dao4 di3 you3 mei2 you3 ren2 guan3? wo3 da3 le5 wu3 ci4 dian4 hua4 dou1 mei2 ren2 jie3 jue2!",
    "说好今天送到，现在又说延期，你们当我好欺负吗？":
        "shuo1 hao3 jin1 tian1 song4 dao4, xian4 zai4 you4 shuo1 yan2 qi1, ni3 men5 dang1 wo3 hao3 qi1 fu4 ma5?",
    "这个球明显是犯规，裁判你眼睛长哪儿去了？":
        "zhe4 ge5 qiu2 ming2 xian3 shi4 fan4 gui1, cai2 pan4 ni3 yan3 jing1 zhang3 na3 er2 qu4 le5?",
    "我花了三千块买的东西，用了两天就坏了，必须给我退！":
        "wo3 hua1 le5 san1 qian1 kuai4 mai3 de5 dong1 xi1, yong4 le5 liang3 tian1 jiu4 huai4 le5, bi4 xu1 gei3 wo3 tui4!",
    "你凭什么翻我的手机？谁给你的权利？":
        "ni3 ping2 shen2 me5 fan1 wo3 de5 shou3 ji1? shui2 gei3 ni3 de5 quan2 li4?",
    "楼下那辆车又堵在出口，我今天非得找到车主不可！":
        "lou2 xia4 na4 liang4 che1 you4 du3 zai4 chu1 kou3, wo3 jin1 tian1 fei1 dei3 zhao3 dao4 che1 zhu3 bu4 ke3!",
    "他把我们辛辛苦苦做的视频直接盗走了，还说是原创，太无耻了！":
        "ta1 ba3 wo3 men5 xin1 xin1 ku3 ku3 zuo4 de5 shi4 pin2 zhi2 jie1 dao4 zou3 le5, hai2 shuo1 shi4 yuan2 chuang4, tai4 wu2 chi3 le5!",
    "我最后说一遍，把你的垃圾拿走，不然我直接扔出去！":
        "wo3 zui4 hou4 shuo1 yi1 bian4, ba3 ni3 de5 la1 ji1 na2 zou3, bu4 ran2 wo3 zhi2 jie1 reng1 chu1 qu4!",
    "别跟我解释了，我不想听，你们每次都是这套说辞！":
        "bie2 gen1 wo3 jie3 shi4 le5, wo3 bu4 xiang3 ting1, ni3 men5 mei3 ci4 dou1 shi4 zhe4 tao4 shuo1 ci2!",
    "这个房东不退押金还骂人，真是气死我了！":
        "zhe4 ge5 fang2 dong1 bu4 tui4 ya1 jin1 hai2 ma4 ren2, zhen1 shi4 qi4 si3 wo3 le5!",
    "你再敢对我同事动手试试，我马上报警！":
        "ni3 zai4 gan3 dui4 wo3 tong2 shi4 dong4 shou3 shi4 shi4, wo3 ma3 shang4 bao4 jing3!",
    "加了一个月的班，奖金说没就没了，这公司太过分了！":
        "jia1 le5 yi2 ge4 yue4 de5 ban1, jiang3 jin1 shuo1 mei2 jiu4 mei2 le5, zhe4 gong1 si1 tai4 guo4 fen4 le5!",
    "又是你！上次把我的方案改得乱七八糟，这次还来？":
        "you4 shi4 ni3! shang4 ci4 ba3 wo3 de5 fang1 an4 gai3 de2 luan4 qi1 ba1 zao1, zhe4 ci4 hai2 lai2?",
    "排了一个小时的队，他一来就插到最前面，凭什么！":
        "pai2 le5 yi2 ge4 xiao3 shi2 de5 dui4, ta1 yi1 lai2 jiu4 cha1 dao4 zui4 qian2 mian4, ping2 shen2 me5!",
    "快看，后面那辆车一直在跟着我们，我好害怕。":
        "kuai4 kan4, hou4 mian4 na4 liang4 che1 yi4 zhi2 zai4 gen1 zhe5 wo3 men5, wo3 hao3 hai4 pa4.",
    "医生说要等化验结果，我担心得手都在抖。":
        "yi1 sheng1 shuo1 yao4 deng3 hua4 yan4 jie2 guo3, wo3 dan1 xin1 de2 shou3 dou1 zai4 dou3.",
    "楼里的火警响了，到处都是烟，我们找不到楼梯了！":
        "lou2 li3 de5 huo3 jing3 xiang3 le5, dao4 chu4 dou1 shi4 yan1, wo3 men5 zhao3 bu2 dao4 lou2 ti1 le5!",
    "我一个人在家，听见客厅有脚步声，我不敢出房间。":
        "wo3 yi2 ge4 ren2 zai4 jia1, ting1 jian4 ke4 ting1 you3 jiao3 bu4 sheng1, wo3 bu4 gan3 chu1 fang2 jian1.",
    "飞机突然往下掉了一下，好多人都在尖叫，我吓坏了。":
        "fei1 ji1 tu1 ran2 wang3 xia4 diao4 le5 yi1 xia4, hao3 duo1 ren2 dou1 zai4 jian1 jiao4, wo3 xia4 huai4 le5.",
    "孩子放学到现在还没回家，电话也打不通，我快急死了。":
        "hai2 zi5 fang4 xue2 dao4 xian4 zai4 hai2 mei2 hui2 jia1, dian4 hua4 ye3 da3 bu4 tong1, wo3 kuai4 ji2 si3 le5.",
    "这个山洞里面太黑了，我总觉得有什么东西在看着我。":
        "zhe4 ge5 shan1 dong4 li3 mian4 tai4 hei1 le5, wo3 zong3 jue2 de5 you3 shen2 me5 dong1 xi1 zai4 kan4 zhe5 wo3.",
    "水已经漫到二楼了，我们被困在屋顶上，快来救我们！":
        "shui3 yi3 jing1 man4 dao4 er4 lou2 le5, wo3 men5 bei4 kun4 zai4 wu1 ding3 shang4, kuai4 lai2 jiu4 wo3 men5!",
    "明天就要上台演讲了，我紧张得睡不着，怕自己忘词。":
        "ming2 tian1 jiu4 yao4 shang4 tai2 yan3 jiang3 le5, wo3 jin3 zhang1 de2 shui4 bu4 zhe5, pa4 zi4 ji3 wang4 ci2.",
    "刚才那个地震晃得好厉害，我到现在腿还是软的。":
        "gang1 cai2 na4 ge5 di4 zhen4 huang3 de2 hao3 li4 hai4, wo3 dao4 xian4 zai4 tui3 hai2 shi4 ruan3 de5.",
    "有人在网上说知道我家住哪儿，我现在不敢出门。":
        "you3 ren2 zai4 wang3 shang4 shuo1 zhi1 dao4 wo3 jia1 zhu4 na3 er2, wo3 xian4 zai4 bu4 gan3 chu1 men2.",
    "车在冰面上打滑了，我完全控制不住方向盘！":
        "che1 zai4 bing1 mian4 shang4 da3 hua2 le5, wo3 wan2 quan2 kong4 zhi4 bu2 zhu4 fang1 xiang4 pan2!",
    "我不敢往下看，这个悬崖太高了，我想回去。":
        "wo3 bu4 gan3 wang3 xia4 kan4, zhe4 ge5 xuan2 ya2 tai4 gao1 le5, wo3 xiang3 hui2 qu4.",
    "听说附近有人被抢了，我晚上下班都不敢一个人走。":
        "ting1 shuo1 fu4 jin4 you3 ren2 bei4 qiang3 le5, wo3 wan3 shang4 xia4 ban1 dou1 bu4 gan3 yi2 ge4 ren2 zou3.",
    "什么？你说这个包只要五十块？我还以为要五百呢！":
        "shen2 me5? ni3 shuo1 zhe4 ge5 bao1 zhi3 yao4 wu3 shi2 kuai4? wo3 hai2 yi3 wei2 yao4 wu3 bai3 ne5!",
    "天哪，开箱开出来的竟然是限量版，我完全没想到！":
        "tian1 na3, kai1 xiang1 kai1 chu1 lai2 de5 jing4 ran2 shi4 xian4 liang4 ban3, wo3 wan2 quan2 mei2 xiang3 dao4!",
    "你怎么会在这儿？我们已经十年没见了吧！":
        "ni3 zen3 me5 hui4 zai4 zhe4 er2? wo3 men5 yi3 jing1 shi2 nian2 mei2 jian4 le5 ba5!",
    "等等，原来凶手一直就是那个管家？太意外了！":
        "deng3 deng3, yuan2 lai2 xiong1 shou3 yi4 zhi2 jiu4 shi4 na4 ge5 guan3 jia1? tai4 yi4 wai4 le5!",
    "哇，这么小的孩子居然能弹这么难的曲子！":
        "wa5, zhe4 me5 xiao3 de5 hai2 zi5 ju1 ran2 neng2 dan4 zhe4 me5 nan2 de5 qu3 zi5!",
    "没想到这个不起眼的小摊，味道比大饭店还好。":
        "mei2 xiang3 dao4 zhe4 ge5 bu4 qi3 yan3 de5 xiao3 tan1, wei4 dao4 bi3 da4 fan4 dian4 hai2 hao3.",
    "真的假的？他们俩居然是亲兄弟？":
        "zhen1 de5 jia3 de5? ta1 men5 lia3 ju1 ran2 shi4 qin1 xiong1 di4?",
    "啊？会议改到今天了？没人通知我啊！":
        "a5? hui4 yi4 gai3 dao4 jin1 tian1 le5? mei2 ren2 tong1 zhi1 wo3 a5!",
    "我一抬头，天上竟然出现了两道彩虹！":
        "wo3 yi1 tai2 tou2, tian1 shang4 jing4 ran2 chu1 xian4 le5 liang3 dao4 cai3 hong2!",
    "这个老爷爷八十多岁了还在玩滑板，简直不可思议！":
        "zhe4 ge5 lao3 ye2 ye2 ba1 shi2 duo1 sui4 le5 hai2 zai4 wan2 hua2 ban3, jian3 zhi2 bu4 ke3 si1 yi4!",
    "咦，这个旧手机居然还能开机，里面的照片都还在！":
        "yi2, zhe4 ge5 jiu4 shou3 ji1 ju1 ran2 hai2 neng2 kai1 ji1, li3 mian4 de5 zhao4 pian1 dou1 hai2 zai4!",
    "原来这个结是这样打的？我学了好几年都不知道。":
        "yuan2 lai2 zhe4 ge5 jie2 shi4 zhe4 yang4 da3 di1? wo3 xue2 le5 hao3 ji3 nian2 dou1 bu4 zhi1 dao4.",
    "什么？比赛最后三秒反超了？谁能想到啊！":
        "shen2 me5? bi3 sai4 zui4 hou4 san1 miao3 fan3 chao1 le5? shui2 neng2 xiang3 dao4 a5!",
    "我随手买的一张彩票，居然中了二等奖？":
        "wo3 sui2 shou3 mai3 de5 yi1 zhang1 cai3 piao4, ju1 ran2 zhong1 le5 er4 deng3 jiang3?",
    "这家店的碗上还粘着上一个人的饭粒，太恶心了。":
        "zhe4 jia1 dian4 de5 wan3 shang4 hai2 zhan1 zhe5 shang4 yi2 ge4 ren2 de5 fan4 li4, tai4 e3 xin1 le5.",
    "冰箱一打开，一股臭鸡蛋的味道扑面而来，我差点吐了。":
        "bing1 xiang1 yi1 da3 kai1, yi1 gu3 chou4 ji1 dan4 de5 wei4 dao4 pu1 mian4 er2 lai2, wo3 cha4 dian3 tu3 le5.",
    "他上完厕所不洗手就去抓零食吃，看得我好反胃。":
        "ta1 shang4 wan2 ce4 suo3 bu4 xi3 shou3 jiu4 qu4 zhua1 ling2 shi2 chi1, kan4 de2 wo3 hao3 fan3 wei4.",
    "外卖里吃出了一只蟑螂，我以后再也不点这家了。":
        "wai4 mai4 li3 chi1 chu1 le5 yi1 zhi1 zhang1 lang2, wo3 yi3 hou4 zai4 ye3 bu4 dian3 zhe4 jia1 le5.",
    "这个酒店的浴缸里全是黑乎乎的污垢，根本不敢用。":
        "zhe4 ge5 jiu3 dian4 de5 yu4 gang1 li3 quan2 shi4 hei1 hu1 hu1 de5 wu1 gou4, gen1 ben3 bu4 gan3 yong4.",
    "河边堆满了垃圾，死鱼漂在水面上，臭得人受不了。":
        "he2 bian1 dui1 man3 le5 la1 ji1, si3 yu2 piao1 zai4 shui3 mian4 shang4, chou4 de2 ren2 shou4 bu4 liao3.",
    "你看这块肉都发绿了，还黏黏的，太恶心了吧。":
        "ni3 kan4 zhe4 kuai4 rou4 dou1 fa1 lv4 le5, hai2 nian2 nian2 de5, tai4 e3 xin1 le5 ba5.",
    "那个人在餐厅里一直大声擤鼻涕，还往桌上甩。":
        "na4 ge5 ren2 zai4 can1 ting1 li3 yi4 zhi2 da4 sheng1 xing3 bi2 ti4, hai2 wang3 zhuo1 shang4 shuai3.",
    "偷拍别人还发到网上炫耀，这种行为真让人作呕。":
        "tou1 pai1 bie2 ren2 hai2 fa1 dao4 wang3 shang4 xuan4 yao4, zhe4 zhong3 xing2 wei2 zhen1 rang4 ren2 zuo4 ou3.",
    "出租车里一股烟味和汗臭味，我一上车就想下去。":
        "chu1 zu1 che1 li3 yi1 gu3 yan1 wei4 he2 han4 chou4 wei4, wo3 yi1 shang4 che1 jiu4 xiang3 xia4 qu4.",
    "沙发缝里翻出了一堆发霉的薯片，还有虫子在爬。":
        "sha1 fa1 feng4 li3 fan1 chu1 le5 yi1 dui1 fa1 mei2 de5 shu3 pian4, hai2 you3 chong2 zi5 zai4 pa2.",
    "这些靠卖假药骗病人钱的人，真让人恶心透了。":
        "zhe4 xie1 kao4 mai4 jia3 yao4 pian4 bing4 ren2 qian2 de5 ren2, zhen1 rang4 ren2 e3 xin1 tou4 le5.",
    "他把嚼过的口香糖直接吐在了地铁座位上，太没素质了，恶心。":
        "ta1 ba3 jue2 guo4 de5 kou3 xiang1 tang2 zhi2 jie1 tu3 zai4 le5 di4 tie3 zuo4 wei4 shang4, tai4 mei2 su4 zhi4 le5, e3 xin1.",
    "下水道的味道飘得整条街都是，闻着直想吐。":
        "xia4 shui3 dao4 de5 wei4 dao4 piao1 de2 zheng3 tiao2 jie1 dou1 shi4, wen2 zhe5 zhi2 xiang3 tu3.",
    "今天这期视频我们来讲一下怎么更换空调的滤网。":
        "jin1 tian1 zhe4 qi1 shi4 pin2 wo3 men5 lai2 jiang3 yi1 xia4 zen3 me5 geng1 huan4 kong1 tiao2 de5 lv4 wang3.",
    "先把螺丝刀准备好，然后把面板往外拉。":
        "xian1 ba3 luo2 si1 dao1 zhun3 bei4 hao3, ran2 hou4 ba3 mian4 ban3 wang3 wai4 la1.",
    "这款耳机的续航时间大概是八个小时。":
        "zhe4 kuan3 er3 ji1 de5 xu4 hang2 shi2 jian1 da4 gai4 shi4 ba1 ge4 xiao3 shi2.",
    "把鸡肉切成小块，加一勺酱油腌十分钟。":
        "ba3 ji1 rou4 qie4 cheng2 xiao3 kuai4, jia1 yi1 shao2 jiang4 you2 yan1 shi2 fen1 zhong1.",
    "下周一的会议改在三楼的小会议室。":
        "xia4 zhou1 yi1 de5 hui4 yi4 gai3 zai4 san1 lou2 de5 xiao3 hui4 yi4 shi4.",
    "这个城市的人口大约是五百万。":
        "zhe4 ge5 cheng2 shi4 de5 ren2 kou3 da4 yue1 shi4 wu3 bai3 wan4.",
    "您的快递已经放在小区门口的快递柜里了。":
        "nin2 de5 kuai4 di4 yi3 jing1 fang4 zai4 xiao3 qu1 men2 kou3 de5 kuai4 di4 gui4 li3 le5.",
    "我们先看一下这张图表，横轴是时间，纵轴是销量。":
        "wo3 men5 xian1 kan4 yi1 xia4 zhe4 zhang1 tu2 biao3, heng2 zhou2 shi4 shi2 jian1, zong4 zhou2 shi4 xiao1 liang4.",
    "从这里坐公交车到机场大概需要四十分钟。":
        "cong2 zhe4 li3 zuo4 gong1 jiao1 che1 dao4 ji1 chang3 da4 gai4 xu1 yao4 si4 shi2 fen1 zhong1.",
    "这个包装盒里有一台主机、一根电源线和一本说明书。":
        "zhe4 ge5 bao1 zhuang1 he2 li3 you3 yi1 tai2 zhu3 ji1, yi1 gen1 dian4 yuan2 xian4 he2 yi1 ben3 shuo1 ming2 shu1.",
    "请在页面的右上角点击登录按钮。":
        "qing3 zai4 ye4 mian4 de5 you4 shang4 jiao3 dian3 ji1 deng1 lu4 an4 niu3.",
    "这座寺庙始建于唐朝，后来重修过两次。":
        "zhe4 zuo4 si4 miao4 shi3 jian4 yu2 tang2 chao2, hou4 lai2 chong2 xiu1 guo4 liang3 ci4.",
    "每天下午四点到五点是健身房人最少的时候。":
        "mei3 tian1 xia4 wu3 si4 dian3 dao4 wu3 dian3 shi4 jian4 shen1 fang2 ren2 zui4 shao3 de5 shi2 hou4.",
    "接下来我们把这两段视频拼接在一起。":
        "jie1 xia4 lai2 wo3 men5 ba3 zhe4 liang3 duan4 shi4 pin2 pin1 jie1 zai4 yi4 qi3.",
}


@dataclass(frozen=True)
class SpokenZh(Spoken):
    pinyin: str = ""  # what espeak-ng reads aloud


def dataset() -> list[SpokenZh]:
    """Every sentence with its label and voice, in a fixed order."""
    items = []
    for emotion in EMOTIONS:
        speeds, pitches = _PROSODY[emotion]
        for i, text in enumerate(_SENTENCES[emotion]):
            items.append(SpokenZh(text, emotion, _VOICES[(i + EMOTIONS.index(emotion)) % len(_VOICES)],
                                  speeds[i % len(speeds)], pitches[i % len(pitches)], PINYIN[text]))
    return items
